from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eval_sets.selectors import eval_set_resolve
from eval_sets.services import eval_set_export


class Command(BaseCommand):
    help = "Write an evaluation-set version in the contract JSONL format (NAME is the newest; NAME@vN a version)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="NAME or NAME@vN")
        parser.add_argument("--out", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            eval_set = eval_set_resolve(spec=options["name"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        text = eval_set_export(eval_set=eval_set)
        if not options["out"]:
            self.stdout.write(text, ending="")
            return
        out = Path(options["out"])
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror}") from None
        self.stdout.write(
            f"wrote {eval_set.name} v{eval_set.version} ({text.count(chr(10))} prompts) to {out}"
        )
