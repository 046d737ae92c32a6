from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.outputs_import import outputs_import
from generation.services import GenerationError


class Command(BaseCommand):
    help = "Record responses made elsewhere (JSONL of prompt_id/response, or AlpacaEval outputs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_name")
        parser.add_argument("eval_set", help="NAME (newest version) or NAME@vN")
        parser.add_argument("path")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = outputs_import(
                model_name=options["model_name"], eval_set=options["eval_set"], path=options["path"]
            )
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        answers = job.samples.count()
        # A conversation has one answer per turn: say so when there are more answers than prompts.
        turns = f" ({answers} answers, one per turn)" if answers != job.prompts_done else ""
        self.stdout.write(
            f"imported {job.prompts_done} responses{turns} for {job.model.name} as job {job.pk}"
        )
