"""`finetune --base MODEL --mixture PATH --name NEW_MODEL [hyperparameters] [--wait]`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import JobStatus
from finetune.hyperparameters import HYPERPARAMETERS
from finetune.management.commands._progress import progress_bar
from finetune.services import finetune_job_create


class Command(BaseCommand):
    help = "Queue (or with --wait, run here) a Flan-style finetune of a registered model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base", required=True, help="registered model to start from")
        parser.add_argument("--mixture", required=True, help="mixture file (YAML or JSON)")
        parser.add_argument("--name", required=True, help="name under which the result is registered")
        parser.add_argument("--steps", type=int)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--seq-len", type=int)
        parser.add_argument("--lr", type=float)
        parser.add_argument("--warmup", type=int)
        parser.add_argument("--grad-accum", type=int)
        parser.add_argument("--optimizer", choices=["adamw", "adafactor"])
        parser.add_argument("--eval-every", type=int)
        parser.add_argument("--save-every", type=int)
        parser.add_argument("--seed", type=int)
        parser.add_argument("--lora", action="store_true", default=None, help="train LoRA adapters (peft)")
        parser.add_argument(
            "--shard",
            choices=["none", "fsdp"],
            help="fsdp: a full finetune sharded across GPUs (not with --lora)",
        )
        parser.add_argument("--no-packing", dest="packing", action="store_false", default=None)
        parser.add_argument("--wait", action="store_true", help="run in this process with a progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        hp = {k: opts[k] for k in HYPERPARAMETERS if opts.get(k) is not None}
        try:
            job = finetune_job_create(
                base=opts["base"],
                mixture_path=opts["mixture"],
                name=opts["name"],
                hyperparameters=hp,
                enqueue=not opts["wait"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if not opts["wait"]:
            self.stdout.write(str(job.pk))
            return
        from finetune.runner import finetune_job_run  # torch: only this branch pays for it

        bar, progress = progress_bar(job.total_steps, f"finetune {job.name}")
        try:
            job = finetune_job_run(job_id=job.pk, progress=progress)
        except Exception as exc:
            raise CommandError(f"finetune job {job.pk} failed: {exc}") from None
        finally:
            bar.close()
        if job.status != JobStatus.DONE:
            raise CommandError(f"finetune job {job.pk} ended {job.status}: {job.error}")
        self.stdout.write(f"{job.pk} done: registered model {job.name!r} at {job.output_dir}")
