from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.models import GenerationJob
from generation.selectors import generation_export_lines


class Command(BaseCommand):
    help = "Write one JSON line per sample of a generation job."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", required=True, type=int)
        parser.add_argument("--out", help="file to write (default: standard output)")
        parser.add_argument("--with-tokens", action="store_true", help="add prompt_token_ids and token_ids")

    def handle(self, *args: Any, **options: Any) -> None:
        job = GenerationJob.objects.filter(pk=options["job"]).first()
        if job is None:
            raise CommandError(f"no generation job {options['job']}")
        lines = generation_export_lines(job=job, with_tokens=options["with_tokens"])
        if options["out"]:
            out = Path(options["out"])
            try:
                with out.open("w", encoding="utf-8") as handle:
                    count = sum(1 for line in lines if handle.write(line) is not None)
            except OSError as exc:
                raise CommandError(f"cannot write {out}: {exc.strerror}") from None
            self.stderr.write(f"wrote {count} samples to {out}")
        else:
            for line in lines:
                self.stdout.write(line, ending="")
