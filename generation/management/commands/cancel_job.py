"""`cancel_job JOB_ID`: stop a generation job (at once when it never started or its worker is gone)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.models import GenerationJob
from generation.services import generation_job_cancel


class Command(BaseCommand):
    help = (
        "Cancel a generation job: a running one stops between batches; a queued one, or one whose "
        "worker has not been heard from for two minutes (killed), is cancelled at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        job = GenerationJob.objects.filter(pk=options["job_id"]).first()
        if job is None:
            raise CommandError(f"no generation job {options['job_id']}")
        job = generation_job_cancel(job=job)
        done = (
            "cancelled" if job.status == "cancelled" else "asked to stop (its worker stops between batches)"
        )
        self.stdout.write(f"job {job.pk} {done}")
