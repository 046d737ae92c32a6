import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import JobStatus
from generation.models import SelectionPolicy
from generation.services import GenerationError, generation_job_create


class Command(BaseCommand):
    help = "Sample responses for every prompt of an evaluation set; prints the job id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--eval-set", required=True, help="NAME (newest version) or NAME@vN")
        parser.add_argument("--samples", type=int, default=5)
        parser.add_argument("--temperature", type=float, default=0.7)
        parser.add_argument("--top-p", type=float, default=1.0)
        parser.add_argument("--top-k", type=int, default=0)
        parser.add_argument("--max-new-tokens", type=int, default=256)
        parser.add_argument(
            "--min-new-tokens", type=int, default=0, help="do not sample EOS before this many tokens"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--selection", choices=SelectionPolicy.values, default=SelectionPolicy.PAPER)
        parser.add_argument("--limit", type=int, help="only the first N prompts")
        parser.add_argument(
            "--chunk-size", type=int, default=32, help="prompts per chunk that a worker claims"
        )
        parser.add_argument("--workers", type=int, default=1, help="tasks to enqueue (they share the chunks)")
        parser.add_argument("--wait", action="store_true", help="run here and now instead of on a worker")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = generation_job_create(
                model=options["model"],
                eval_set=options["eval_set"],
                samples=options["samples"],
                temperature=options["temperature"],
                top_p=options["top_p"],
                top_k=options["top_k"],
                max_new_tokens=options["max_new_tokens"],
                min_new_tokens=options["min_new_tokens"],
                seed=options["seed"],
                selection_policy=options["selection"],
                limit=options["limit"],
                chunk_size=options["chunk_size"],
                workers=options["workers"],
                enqueue=not options["wait"],
            )
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(job.pk))
        if not options["wait"]:
            return
        # Here, not at the top: loading the command (the web process lists them) stays torch-free.
        from core.progress import progress_bar
        from generation.runner import generation_job_run

        with progress_bar(
            total=job.prompts_total, unit="prompt", desc=f"job {job.pk}", file=sys.stderr
        ) as bar:

            def advance(count: int) -> None:
                bar.update(count)

            job = generation_job_run(job_id=job.pk, progress=advance)
        if job.status != JobStatus.DONE:
            raise CommandError(f"job {job.pk} {job.status}: {job.error or 'see the job page'}")
        rate = f"{job.tokens_per_second:.0f} tokens/s" if job.tokens_per_second else "no tokens"
        self.stderr.write(f"job {job.pk} done: {job.prompts_done} prompts, {rate}, engine: {job.engine}")
