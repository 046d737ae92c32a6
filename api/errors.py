"""Every refusal as JSON: `{"detail": message, "field": name or null}`, like the forms' messages.

The services' own errors (ValueError subclasses: a bad eval-set line, an unknown system, a parameter
out of range) carry the message the pages show; input the schema refuses names its field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError

from annotate.recruiting.links import LinkError
from api.auth import ThrottledError


class ApiError(Exception):
    """A refusal naming the field at fault; raised by routers for what they check before a service."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def _answer(
    api: NinjaAPI, request: HttpRequest, status: int, detail: str | None, **extra: Any
) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def _field(location: Any) -> str | None:
    # ("body", "payload", "temperature") -> "temperature"; query and path parameters likewise.
    names = [
        str(part) for part in location if part not in ("body", "query", "path", "form", "file", "payload")
    ]
    return ".".join(names) or None


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return _answer(api, request, exc.status, exc.message, field=exc.field)

    @api.exception_handler(SchemaError)
    def schema_error(request: HttpRequest, exc: SchemaError) -> HttpResponse:
        errors = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors]
        first = errors[0] if errors else {"field": None, "message": "invalid input"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return _answer(api, request, 422, detail, field=first["field"], errors=errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = "send Authorization: Bearer <token> (create one under API tokens) or log in"
        response = _answer(api, request, 401, message, field=None)
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(ThrottledError)
    def throttled(request: HttpRequest, exc: ThrottledError) -> HttpResponse:
        message = "too many wrong tokens from this address: wait for the cool-off and try again"
        return _answer(api, request, 429, message, field=None)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return _answer(api, request, exc.status_code, str(exc), field=None)

    @api.exception_handler(DjangoValidationError)
    def validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return _answer(api, request, 400, "; ".join(exc.messages), field=None)

    @api.exception_handler(ValueError)
    def service_error(request: HttpRequest, exc: ValueError) -> HttpResponse:
        return _answer(api, request, 400, str(exc), field=getattr(exc, "field", None))

    @api.exception_handler(LinkError)
    def link_error(request: HttpRequest, exc: LinkError) -> HttpResponse:
        return _answer(api, request, 400, str(exc), field=None)
