"""State shared by every background job (generation, finetuning, judging, imports), and their chunks."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# A running job whose worker has not been heard from for this long may be cancelled or retried by a
# researcher (issue 25, item 9): workers beat with every committed item and between batches, so a
# live one is heard from every few seconds; a worker killed with kill -9 is not, and Redis would
# hand its task to another worker only after its visibility timeout (24 h). Chunks are taken over
# by other workers after core.jobs.STALE_SECONDS, a longer wait, since nobody asked.
JOB_STALE_SECONDS = 120


class Job(models.Model):
    """Abstract base: a job's life lives in our tables, not in Celery's result backend."""

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    error = models.TextField(blank=True, help_text="Why the job failed, for the person who retries it.")
    cancel_requested = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # How pages, messages and commands name one job of a kind ("job 12", "judge run 3"), and what a
    # retry of one keeps ("Retry (keeps finished prompts)"): each kind says its own.
    noun: ClassVar[str] = "job"
    retry_keeps: ClassVar[str] = "finished work"

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def is_stalled(self) -> bool:
        """Running, with no heartbeat for JOB_STALE_SECONDS (or none at all): its worker is presumed dead."""
        if self.status != JobStatus.RUNNING:
            return False
        return self.heartbeat is None or (timezone.now() - self.heartbeat).total_seconds() > JOB_STALE_SECONDS

    @property
    def offers_retry(self) -> bool:
        """Whether its page shows a retry button: failed, cancelled, or running with its worker gone quiet."""
        return self.status in (JobStatus.FAILED, JobStatus.CANCELLED) or self.is_stalled

    @property
    def duration_seconds(self) -> float | None:
        if self.started is None:
            return None
        end = self.finished or timezone.now()
        return (end - self.started).total_seconds()


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class Chunk(models.Model):
    """Abstract base: a slice [start, end) of a job's items, in the job's order, that one worker claims.

    A subclass adds the foreign key to its job (related_name "chunks", so core/chunked_run.py finds
    them), names it in `job_field`, and adds the unique (job, index) constraint; core/chunk_claim.py
    hands chunks out.
    """

    Status = ChunkStatus
    job_field: ClassVar[str] = "job"

    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField(help_text="First item (0-based, in the job's order).")
    end = models.PositiveIntegerField(help_text="One past the last item.")
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        """The job named as its kind names itself: "chunk 2 of job 7", "chunk 0 of judge run 3"."""
        noun = getattr(self._meta.get_field(self.job_field).related_model, "noun", "job")
        return f"chunk {self.index} of {noun} {getattr(self, f'{self.job_field}_id')}"
