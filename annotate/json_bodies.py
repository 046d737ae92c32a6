"""The bodies of the rating page's JSON calls, checked before anything is read from them.

A body is a flat JSON object of known fields with the expected types; anything else (not JSON, a
list, nesting, `"comment": null`, an unknown field) is refused with a message naming the field, so
a bad request changes nothing and is never stringified into stored data. Form posts (the same
fields as strings) are accepted for clients without JavaScript's fetch.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from annotate.models import COMMENT_MAX_CHARS

# Field -> expected Python type once parsed; `float` accepts JSON integers too, never booleans.
SUBMIT_FIELDS: dict[str, type] = {"token": str, "side": str, "comment": str, "seconds": float, "next": bool}
NAMES = {str: "a string", float: "a number", bool: "true or false"}


class RequestError(Exception):
    """The body is not what the call takes; the message says which field and why."""


def _typed(field: str, value: Any, kind: type) -> Any:
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RequestError(f"{field} must be {NAMES[kind]}")
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise RequestError(f"{field} must be a finite number of seconds, at least 0")
        return float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RequestError(f"{field} must be {NAMES[kind]}")
    return value


def _from_form(field: str, raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.lower() in ("1", "true", "on", "yes")
    if kind is float:
        try:
            return _typed(field, float(raw), float)
        except ValueError:
            raise RequestError(f"{field} must be {NAMES[kind]}") from None
    return raw


def rater_request(request: HttpRequest, fields: dict[str, type]) -> dict[str, Any]:
    """The checked fields of the body (absent ones left out); `RequestError` when it is malformed."""
    if request.content_type != "application/json":
        return {k: _from_form(k, v, fields[k]) for k, v in request.POST.dict().items() if k in fields}
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        # RecursionError: a deeply nested body ([[[[...]]]]) exhausts the parser's stack.
        raise RequestError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError("the body must be a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RequestError(f"unknown field(s): {', '.join(unknown)[:200]}")
    out: dict[str, Any] = {}
    for field, value in data.items():
        if field == "seconds" and value is None:
            continue  # "no client clock" is allowed: the server's clock bounds the time alone
        out[field] = _typed(field, value, fields[field])
    if len(out.get("comment", "")) > COMMENT_MAX_CHARS:
        raise RequestError(f"comment is longer than {COMMENT_MAX_CHARS} characters")
    return out
