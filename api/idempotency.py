"""`Idempotency-Key`: a write retried with the same key gets the first answer again and does nothing.

Applied around the API's views (api.urls), before ninja: a POST carrying the header is looked up by
the caller (the token's or the session's user) and the key; the first successful answer is stored
and replayed; the same key with a different request is refused. Writes without the header rely on
their natural keys (an identical eval-set file is the version already stored).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from api.models import ApiToken, IdempotentWrite
from api.tokens import token_digest

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEY_MAX = 200


def _caller_id(request: HttpRequest) -> int | None:
    # Read only: the view itself authenticates (and counts a wrong token); this just scopes the key.
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("bearer "):
        digest = token_digest(auth[7:].strip())
        return (
            ApiToken.objects.filter(digest=digest, revoked__isnull=True)
            .values_list("user_id", flat=True)
            .first()
        )
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _refusal(message: str) -> HttpResponse:
    body = json.dumps({"detail": message, "field": "Idempotency-Key"})
    return HttpResponse(body, status=422, content_type="application/json")


def idempotent(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.META.get(HEADER, "").strip()
        if request.method != "POST" or not key:
            return view(request, *args, **kwargs)
        if len(key) > KEY_MAX:
            return _refusal(f"the Idempotency-Key is longer than {KEY_MAX} characters")
        user_id = _caller_id(request)
        if user_id is None:
            return view(request, *args, **kwargs)  # refused by the view's own authentication
        digest = hashlib.sha256(request.body).hexdigest()
        stored = IdempotentWrite.objects.filter(user_id=user_id, key=key).first()
        if stored is not None:
            if (stored.method, stored.path, stored.request_digest) != (request.method, request.path, digest):
                return _refusal("this Idempotency-Key was used for a different request; use a new key")
            replay = HttpResponse(stored.body, status=stored.status, content_type="application/json")
            replay["Idempotent-Replayed"] = "true"
            return replay
        response = view(request, *args, **kwargs)
        if 200 <= response.status_code < 300 and not getattr(response, "streaming", False):
            try:
                with transaction.atomic():
                    IdempotentWrite.objects.create(
                        user_id=user_id, key=key, method=request.method, path=request.path[:500],
                        request_digest=digest, status=response.status_code, body=response.content.decode(),
                    )  # fmt: skip
            except IntegrityError:
                pass  # a concurrent retry stored its answer first; both did the same write
        return response

    return wrapper
