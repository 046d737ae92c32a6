"""`import_judgments --campaign NAME PATH [--format auto|alpacaeval|jsonl] [--name JUDGE_NAME]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from judging.errors import JudgingError
from judging.imports import FORMATS, judgments_import


class Command(BaseCommand):
    help = "Record verdicts made elsewhere as a judge run of a campaign (all or nothing; prints the run id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--format", choices=FORMATS, default="auto", dest="fmt")
        parser.add_argument("--name", help="the judge's name in reports (default: the file's annotator)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = judgments_import(
                campaign=options["campaign"], path=options["path"], fmt=options["fmt"], name=options["name"]
            )
        except JudgingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(run.pk))
        self.stderr.write(f"imported {run.items_done} verdicts as judge run {run.pk} ({run.name})")
