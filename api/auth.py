"""Who may call the API: researchers, by bearer token or by their logged-in session.

A token request carries no cookie, so CSRF does not apply to it; a session request is checked for
CSRF (ninja's SessionAuth) like any form. Wrong tokens count as failed logins with django-axes, so
the same limit and cool-off (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME) apply, per client address.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from api.tokens import api_token_user
from core.login_throttle import client_ip
from core.roles import is_researcher

RESEARCHERS_ONLY = "the API is for researchers; this account is not one"


class ThrottledError(Exception):
    """Too many wrong tokens from this address: refused until the cool-off ends."""


def _credentials(request: HttpRequest) -> dict[str, str]:
    # Counted under a name of its own per address: a flood of wrong tokens locks that address out
    # (logins from it too, as wrong passwords would), never a researcher's account.
    return {"username": f"api-token@{client_ip(request) or 'unknown'}"}


def _researcher(user: Any) -> User:
    if not is_researcher(user):
        raise HttpError(403, RESEARCHERS_ONLY)
    return user  # type: ignore[no-any-return]


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        credentials = _credentials(request)
        if AxesProxyHandler.is_locked(request, credentials):
            raise ThrottledError()
        user = api_token_user(secret=token.strip())
        if user is None:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            return None
        request.user = user
        return _researcher(user)


class ResearcherSession(SessionAuth):
    """The site's login session (the docs page, a notebook on the same site); CSRF applies."""

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = super().authenticate(request, key)
        if user is None:
            return None
        return _researcher(user)


AUTH = [TokenAuth(), ResearcherSession()]
