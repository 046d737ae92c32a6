"""`pretrain_base NAME --corpus PATH [--steps N] [--seq-len N] [--hidden N] [--layers N] [--heads N]
[--description TEXT]`: a tiny byte-level base model, pretrained on a text corpus and registered.

The defaults are the demo's (`make demo` builds its base with them). Torch is imported only
once the input has been checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finetune.management.commands._progress import progress_bar
from generation.models import ModelSpec


class Command(BaseCommand):
    help = (
        "Pretrain a tiny byte-level Llama on a text corpus (paragraphs split on blank lines) and register it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name", help="name under which the model is registered (and its folder in MODELS_DIR)"
        )
        parser.add_argument(
            "--corpus", required=True, help="a UTF-8 text file; paragraphs split on blank lines"
        )
        parser.add_argument("--steps", type=int, default=300)
        parser.add_argument("--seq-len", type=int, default=512)
        parser.add_argument("--hidden", type=int, default=128)
        parser.add_argument("--layers", type=int, default=4)
        parser.add_argument("--heads", type=int, default=4)
        parser.add_argument("--description", default="", help="shown with the model (default: what it is)")

    def handle(self, *args: Any, **opts: Any) -> None:
        name = str(opts["name"]).strip()
        corpus = Path(opts["corpus"]).expanduser()
        _check(name, corpus, opts)
        from finetune.pretrain import corpus_paragraphs, pretrain_tiny_base
        from finetune.train_types import ProgressCallback
        from generation.errors import GenerationError
        from generation.services import model_spec_register

        texts = corpus_paragraphs(corpus)
        if not texts:
            raise CommandError(f"corpus {corpus} has no text")
        directory = Path(settings.MODELS_DIR) / name
        bar, progress = progress_bar(opts["steps"], f"pretraining {name}")
        try:
            pretrain_tiny_base(
                directory,
                texts,
                steps=opts["steps"],
                seq_len=opts["seq_len"],
                hidden=opts["hidden"],
                layers=opts["layers"],
                heads=opts["heads"],
                callback=ProgressCallback(progress),
            )
        finally:
            bar.close()
        description = opts["description"] or (
            f"Tiny byte-level Llama pretrained for {opts['steps']} steps on {corpus.name}."
        )
        try:
            model_spec_register(name=name, path=str(directory), kind="causal", description=description)
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"registered base model {name!r} at {directory}")


def _check(name: str, corpus: Path, opts: dict[str, Any]) -> None:
    """Every reason to refuse, before anything loads."""
    if not name or name.startswith(".") or any(c in name for c in "/\\"):
        raise CommandError(f"the model name {name!r} cannot name a folder")
    if ModelSpec.objects.filter(name=name).exists():
        raise CommandError(f"a model named {name!r} is already registered")
    if not corpus.is_file():
        raise CommandError(f"corpus not found: {corpus}")
    for option in ("steps", "hidden", "layers", "heads"):
        if opts[option] < 1:
            raise CommandError(f"--{option} must be at least 1")
    if opts["seq_len"] < 8:
        raise CommandError("--seq-len must be at least 8")
    if opts["hidden"] % opts["heads"] or (opts["hidden"] // opts["heads"]) % 2:
        raise CommandError("--hidden over --heads must be a whole, even number (the rotary head size)")
