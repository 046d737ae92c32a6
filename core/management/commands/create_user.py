from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.roles import ROLES
from core.users import user_create


class Command(BaseCommand):
    help = "Create a user with the rater or researcher role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--password", help="without it the account has no usable password")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_create(
                username=options["username"], role=options["role"], password=options["password"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created {options['role']} {user.username}")
