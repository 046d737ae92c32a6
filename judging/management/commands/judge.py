"""`judge --campaign NAME --model JUDGE [--wait]`: run a judge over every comparison of a campaign."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from judging.errors import JudgingError
from judging.services import judge_run_create


class Command(BaseCommand):
    help = "Judge every comparison of a campaign in both orders with a registered model (prints the run id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--model", required=True, help="a registered model to judge with")
        parser.add_argument("--chunk-size", type=int, default=16)
        parser.add_argument("--max-answer-chars", type=int, default=3000)
        parser.add_argument("--wait", action="store_true", help="run here and now instead of queueing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = judge_run_create(
                campaign=options["campaign"],
                model=options["model"],
                chunk_size=options["chunk_size"],
                max_answer_chars=options["max_answer_chars"],
                enqueue=not options["wait"],
            )
        except JudgingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(run.pk))
        if options["wait"]:
            from judging.runner import judge_run_execute

            run = judge_run_execute(run_id=run.pk)
            if run.status != "done":
                raise CommandError(f"judge run {run.pk} {run.status}: {run.error or 'see the run page'}")
            self.stderr.write(f"judge run {run.pk} done: {run.items_done} comparisons judged")
