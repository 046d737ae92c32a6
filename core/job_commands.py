"""The commands that start a job (generate, judge): print its id, and with --wait run it here.

Scripts read the id the command prints; bad input is refused with the service's one-line reason.
`--wait` runs the job in this process behind a progress bar (core/progress.py) and fails, naming
the job, unless it ends done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max

from core.errors import RequestError
from core.jobs import job_chunks
from core.models import Job, JobStatus
from core.progress import progress_bar

Progress = Callable[[int], None]


class JobCommand(BaseCommand):
    """A subclass adds its own arguments, then calls super().add_arguments (which adds --wait).

    It says how to create its job from the options (`create`), how to run one here (`run_here`:
    import the runner there, so listing commands stays torch-free) and what a finished one did.
    """

    unit = "item"  # what the progress bar counts
    wait_help = "run here and now instead of on a worker"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", action="store_true", help=self.wait_help)

    def create(self, options: dict[str, Any], *, enqueue: bool) -> Job:
        raise NotImplementedError

    def run_here(self, job: Any, progress: Progress) -> Job:
        raise NotImplementedError

    def done_summary(self, job: Any) -> str:
        """What the finished job did, after "<noun> <id> done: "."""
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = self.create(options, enqueue=not options["wait"])
        except RequestError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(job.pk))
        if not options["wait"]:
            return
        name = f"{job.noun} {job.pk}"
        # The chunks cover the job's items, so the last one's end is how many there are.
        total = job_chunks(job).aggregate(total=Max("end"))["total"] or 0
        with progress_bar(total=total, unit=self.unit, desc=name, file=sys.stderr) as bar:
            job = self.run_here(job, bar.update)
        if job.status != JobStatus.DONE:
            page = job.noun.split()[-1]  # a judge run's page is its run page
            raise CommandError(f"{name} {job.status}: {job.error or f'see the {page} page'}")
        # On stderr, so that stdout holds only the id; in the success style, not stderr's error one.
        self.stderr.write(f"{name} done: {self.done_summary(job)}", style_func=self.style.SUCCESS)
