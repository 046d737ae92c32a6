"""Login throttling's two hooks for django-axes: the address it counts and the page it answers.

Without a proxy this is REMOTE_ADDR. Behind `TRUSTED_PROXY_COUNT` proxies that each append to
X-Forwarded-For, the client is the entry that many places from the right: entries further left were
written by the client itself and could be anything, so they are never trusted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    count: int = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(hops) < count:
        # Fewer hops than proxies: the request did not come through them all; count the sender.
        return remote
    return hops[-count]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The page a locked-out login gets, the same for the rating site, researchers and the admin."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)
