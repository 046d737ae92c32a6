"""The login backend: Django's ModelBackend, with the user's roles read in the same query as the user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from core.roles import role_flags
from core.statements import QueryStatement

# Sessions name a backend by this path; code that logs a user in without a password uses it too.
BACKEND = "core.backends.RoleBackend"


def _build_user(values: Mapping[str, Any]) -> QuerySet[Any]:
    return get_user_model()._default_manager.annotate(**role_flags()).filter(pk=values["user"]).order_by("pk")


# Read on every request: building and compiling the annotated query cost more than running it
# (issue 31), so it is compiled once per process (core.statements).
_USER = QueryStatement(_build_user, ints=("user",))


class RoleBackend(ModelBackend):
    """Every page asks the user's role; loading it with the user saves that query on every request."""

    def get_user(self, user_id: Any) -> Any:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        if not -(2**63) <= pk < 2**63:  # no such id, and SQLite cannot bind it
            return None
        user = _USER.first("user", user=pk)
        return user if user is not None and self.user_can_authenticate(user) else None
