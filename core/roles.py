"""The two roles: researchers (staff or the "researchers" group) and raters (the "raters" group)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.db.models.signals import post_migrate
from django.http import HttpRequest
from django.http.response import HttpResponseBase

RESEARCHERS = "researchers"
RATERS = "raters"
ROLES = {"researcher": RESEARCHERS, "rater": RATERS}

# Streamed responses (StreamingHttpResponse) are views too.
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def _flag(name: str) -> str:
    return f"in_group_{name}"


def role_flags() -> dict[str, Exists]:
    """Annotations that load a user's membership of each role's group with the user (core.backends)."""
    return {
        _flag(name): Exists(Group.objects.filter(user=OuterRef("pk"), name=name)) for name in ROLES.values()
    }


def _in_group(user: AbstractBaseUser | AnonymousUser, name: str) -> bool:
    # A request's user carries the flags (read with it); any other user object asks the database.
    loaded = getattr(user, _flag(name), None)
    if loaded is not None:
        return bool(user.is_authenticated and loaded)
    groups = getattr(user, "groups", None)
    return bool(user.is_authenticated and groups is not None and groups.filter(name=name).exists())


def is_researcher(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False)) or _in_group(user, RESEARCHERS)


def is_rater(user: AbstractBaseUser | AnonymousUser) -> bool:
    return _in_group(user, RATERS)


def _require(check: Callable[[Any], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            # LoginRequiredMiddleware has already sent anonymous users to the login page.
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


researcher_required = _require(is_researcher)
rater_required = _require(is_rater)


def ensure_groups() -> None:
    for name in ROLES.values():
        Group.objects.get_or_create(name=name)


def connect_group_creation() -> None:
    def _create(sender: Any, **kwargs: Any) -> None:
        if getattr(sender, "name", None) == "core":
            ensure_groups()

    post_migrate.connect(_create, dispatch_uid="core.ensure_groups")
