"""The login backend: Django's ModelBackend, with the user's roles read in the same query as the user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from core.roles import role_flags

# Sessions name a backend by this path; code that logs a user in without a password uses it too.
BACKEND = "core.backends.RoleBackend"


class RoleBackend(ModelBackend):
    """Every page asks the user's role; loading it with the user saves that query on every request."""

    def get_user(self, user_id: Any) -> Any:
        users = get_user_model()._default_manager.annotate(**role_flags())
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
