"""`retry_job JOB_ID`: queue a failed, cancelled or stalled generation job again (finished prompts kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.models import GenerationJob
from generation.services import GenerationError, generation_job_retry


class Command(BaseCommand):
    help = (
        "Queue a generation job again: failed, cancelled, or running with no word from its worker for "
        "two minutes (a worker killed with kill -9). Finished prompts are kept and skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        job = GenerationJob.objects.filter(pk=options["job_id"]).first()
        if job is None:
            raise CommandError(f"no generation job {options['job_id']}")
        try:
            job = generation_job_retry(job=job)
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"job {job.pk} queued again; finished prompts are kept")
