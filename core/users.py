"""Creating users with a role: used by `create_user`, the researcher pages, recruiting and the demo.

Every account goes through here, so the username rule and Django's password validators
(AUTH_PASSWORD_VALIDATORS) apply whichever way an account is made.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.roles import ROLES, ensure_groups

# ASCII only: a Cyrillic er (U+0440) in "rater_a" looks exactly like a Latin p in reports,
# and markup characters have no business in a name shown on every page.
USERNAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,149}$")
USERNAME_HELP = "Up to 150 characters: ASCII letters, digits and . _ @ + - (starting with a letter or digit)."
# The shape of the accounts bound to crowd participants (`crowd_username`): reserved for them, or a
# person could take "ext3-<someone's participant id>" through a sign-up and lock that participant out.
CROWD_USERNAME = re.compile(r"^ext\d+-", re.IGNORECASE)


def crowd_username(*, campaign_id: int, external_id: str) -> str:
    """The account name of the crowd participant `external_id` in campaign `campaign_id`."""
    return f"ext{campaign_id}-{external_id}"


class UserInputError(ValueError):
    """A username or password that is refused; `field` says which, for forms."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def username_check(username: str, *, crowd: bool = False) -> None:
    """Refuse an empty, non-ASCII or oddly shaped name, and the crowd shape unless `crowd` (see CROWD_USERNAME)."""
    if not username.strip():
        raise UserInputError("the username is empty", field="username")
    if not crowd and CROWD_USERNAME.match(username):
        raise UserInputError(
            f"usernames starting with {username.split('-', 1)[0]}- are kept for crowd-platform participants; "
            "choose another",
            field="username",
        )
    if not USERNAME_RULE.match(username):
        odd = sorted({ch for ch in username if not re.match(r"[A-Za-z0-9._@+-]", ch)})
        shown = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in odd) if odd else "its first character"
        raise UserInputError(
            f"username {username!r} is refused because of {shown}. {USERNAME_HELP}", field="username"
        )


def password_check(password: str, *, user: User) -> None:
    """Django's validators (length, common, numeric, too like the username) with their reasons."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise UserInputError("password refused: " + " ".join(exc.messages), field="password") from None


def username_taken(username: str) -> bool:
    return User.objects.filter(username__iexact=username).exists()


@transaction.atomic
def user_create(*, username: str, role: str, password: str | None = None, crowd: bool = False) -> User:
    """Create `username` with `role`; with no password the account cannot log in until one is set.

    `crowd` allows the name shape kept for crowd participants (only the crowd entry passes it).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    username_check(username, crowd=crowd)
    taken = UserInputError(f"user {username!r} already exists", field="username")
    if username_taken(username):
        raise taken
    ensure_groups()
    user = User(username=username, is_staff=False)
    if password is not None:
        password_check(password, user=user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        # Two sign-ups with one name can both pass the check above; the unique index decides, and the
        # loser gets the same message instead of a 500 (the savepoint keeps the caller's transaction).
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise taken from None
    user.groups.add(Group.objects.get(name=ROLES[role]))
    return user
