from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eval_sets.importers import FORMATS, EvalSetImportError
from eval_sets.services import eval_set_import


class Command(BaseCommand):
    help = (
        "Import an evaluation-set file as a version of a named set. Identical content returns the stored "
        "version; changed content under the same name becomes the next version. Nothing is stored when any "
        "record is bad. Files are limited to settings.MAX_UPLOAD_BYTES."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument("--name", help="set name (default: the file name without its extension)")
        parser.add_argument("--description", default="")
        parser.add_argument("--id-field", help="jsonl/csv: the column holding the prompt id (default id)")
        parser.add_argument(
            "--prompt-field", help="jsonl/csv: the column holding the prompt (default prompt)"
        )
        parser.add_argument(
            "--category-field", help="jsonl/csv: the column holding the category (default category)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = eval_set_import(
                path=options["path"],
                name=options["name"],
                description=options["description"],
                format=options["format"],
                id_field=options["id_field"],
                prompt_field=options["prompt_field"],
                category_field=options["category_field"],
            )
        except EvalSetImportError as exc:
            raise CommandError(f"nothing imported: {exc}") from None
        eval_set = result.eval_set
        state = "new version" if result.created else "unchanged, identical content already stored"
        self.stdout.write(
            f"{eval_set.name} v{eval_set.version}: {result.prompt_count} prompts "
            f"({result.format}; {state}; hash {eval_set.content_hash[:12]})"
        )
        for note in result.notes:
            self.stdout.write(f"note: {note}")
