"""Creating users with a role: used by `create_user`, the researcher pages and the demo."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from core.roles import ROLES, ensure_groups


@transaction.atomic
def user_create(*, username: str, role: str, password: str | None = None) -> User:
    """Create `username` with `role`; with no password the account cannot log in until one is set."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if not username.strip():
        raise ValueError("the username is empty")
    if User.objects.filter(username=username).exists():
        raise ValueError(f"user {username!r} already exists")
    ensure_groups()
    user = User(username=username, is_staff=False)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=ROLES[role]))
    return user
