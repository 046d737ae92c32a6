"""create_api_token USERNAME [--name N] [--expires-days D]: print a researcher's new API token once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.tokens import TokenError, api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a researcher and print it (it is not stored, only its hash)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for (shown on the tokens page)")
        parser.add_argument("--expires-days", type=int, help="the token stops working after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        try:
            made = api_token_create(user=user, name=options["name"], expires_days=options["expires_days"])
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(made.secret)
