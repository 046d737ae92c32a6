from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.models import ModelSpec
from generation.services import GenerationError, model_spec_register


class Command(BaseCommand):
    help = "Register a model (Hugging Face id or local directory) under a name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--path", required=True, help="Hugging Face id or local directory")
        parser.add_argument(
            "--kind", choices=ModelSpec.Kind.values, help="detected from config.json when left out"
        )
        parser.add_argument(
            "--chat-template", action="store_true", help="wrap prompts with the chat template"
        )
        parser.add_argument("--dtype", choices=ModelSpec.DType.values, default=ModelSpec.DType.AUTO)
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = model_spec_register(
                name=options["name"],
                path=options["path"],
                kind=options["kind"],
                chat_template=options["chat_template"],
                dtype=options["dtype"],
                description=options["description"],
            )
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        kind = spec.kind or "detected when loaded"
        self.stdout.write(f"registered model {spec.name} ({kind}) at {spec.path}")
