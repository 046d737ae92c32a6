"""Personal API tokens: create (the secret is returned once), revoke, and find the user of a bearer token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from api.models import ApiToken
from core.roles import is_researcher

TOKEN_PREFIX = "usk_"  # says what a leaked string is, and lets secret scanners find one
NAME_MAX = 100


class TokenError(ValueError):
    """The token cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once; only its digest is stored


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: User, name: str = "", expires_days: int | None = None) -> NewToken:
    """A new token for a researcher; raters get none (the API is for researchers only)."""
    if not is_researcher(user):
        raise TokenError(f"{user.username} is not a researcher: API tokens are for researchers only")
    name = " ".join(name.split()) or "API token"
    if len(name) > NAME_MAX:
        raise TokenError(f"the name is {len(name)} characters long; at most {NAME_MAX}")
    if expires_days is not None and expires_days < 1:
        raise TokenError("expires_days must be at least 1 (or none for a token that does not expire)")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=expires_days) if expires_days is not None else None
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 4],
        digest=token_digest(secret),
        expires=expires,
    )
    return NewToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
    return token


def api_token_user(*, secret: str) -> User | None:
    """The user of an active token, noting its use; None for an unknown, revoked or expired one.

    Checked on every request, so a revoked or expired token stops at once (the caller checks the role).
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(secret)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    # One write a minute at most: a client polling a job should not write a row on every call.
    if token.last_used is None or now - token.last_used > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user
