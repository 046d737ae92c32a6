from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.models import ModelSpec
from generation.services import GenerationError, model_spec_register, model_spec_register_served


class Command(BaseCommand):
    help = (
        "Register a model under a name: loaded by a worker (--path HF_ID_OR_DIR) or served elsewhere "
        "(--backend openai --base-url URL --served-model MODEL, e.g. vLLM)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--backend", choices=ModelSpec.Backend.values, default=ModelSpec.Backend.INPROCESS
        )
        parser.add_argument("--path", help="Hugging Face id or local directory (in-process backend)")
        parser.add_argument(
            "--kind", choices=ModelSpec.Kind.values, help="detected from config.json when left out"
        )
        parser.add_argument(
            "--chat-template", action="store_true", help="wrap prompts with the chat template"
        )
        parser.add_argument("--dtype", choices=ModelSpec.DType.values, default=ModelSpec.DType.AUTO)
        parser.add_argument("--base-url", help="served backend: e.g. http://gpu-host:8000/v1")
        parser.add_argument("--served-model", help="served backend: the model name the server knows")
        parser.add_argument(
            "--chat", action="store_true", help="served backend: use the chat endpoint (server's template)"
        )
        parser.add_argument(
            "--api-key-env",
            default="",
            help="served backend: NAME of the environment variable holding the key on the worker",
        )
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        served = options["backend"] == ModelSpec.Backend.OPENAI
        served_only = [f"--{k.replace('_', '-')}" for k in ("base_url", "served_model") if options[k]]
        served_only += [f"--{k.replace('_', '-')}" for k in ("chat", "api_key_env") if options[k]]
        try:
            if served:
                if options["path"] or options["kind"] or options["chat_template"]:
                    raise GenerationError(
                        "--path, --kind and --chat-template are for the in-process backend; "
                        "a served model takes --base-url and --served-model (and --chat)"
                    )
                if not options["base_url"] or not options["served_model"]:
                    raise GenerationError("--backend openai needs --base-url and --served-model")
                spec = model_spec_register_served(
                    name=options["name"],
                    base_url=options["base_url"],
                    served_model=options["served_model"],
                    chat=options["chat"],
                    api_key_env=options["api_key_env"],
                    description=options["description"],
                )
                self.stdout.write(
                    f"registered served model {spec.name} ({spec.served_model} at {spec.base_url})"
                )
                return
            if served_only:
                raise GenerationError(f"{', '.join(served_only)} need --backend openai")
            if not options["path"]:
                raise GenerationError("give --path HF_ID_OR_DIR (or --backend openai for a served model)")
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
