"""serving_check [--campaign NAME]: recount serving's counters and report any drift (exit 1 if some)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.models import Campaign
from annotate.serving_check import serving_drift


class Command(BaseCommand):
    help = "Recount serving's counters (items' taken, the campaign and cell tallies) from the rows and report drift."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", help="one campaign by name (default: every campaign)")

    def handle(self, *args: Any, **options: Any) -> None:
        campaigns = None
        if options["campaign"]:
            campaigns = list(Campaign.objects.filter(name=options["campaign"]))
            if not campaigns:
                raise CommandError(f"no campaign named {options['campaign']!r}")
        drift = serving_drift(campaigns=campaigns)
        for item in drift:
            self.stdout.write(str(item))
        self.stdout.write(f"drift={len(drift)}")
        if drift:
            raise CommandError(f"{len(drift)} counters differ from a recount")
