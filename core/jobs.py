"""Writes and reads every job kind shares: cancel, queue again, cut into chunks, the status payload.

Torch-free, the web side of the chunked-job kit (the worker side is core/chunked_run.py). The
apps' services keep their own names, checks and messages (`generation_job_retry` refuses with a
GenerationError that names a job, `judge_run_retry` with a JudgingError that names a run) and call
these for the part that is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import JOB_STALE_SECONDS, ChunkStatus, Job, JobStatus

JobT = TypeVar("JobT", bound=Job)

# A chunk whose worker has not been heard from for this long is handed to another worker without
# anyone asking. Heartbeats come with every committed item and between batches, so keep it well
# above the time one batch takes. A researcher may cancel or retry sooner (JOB_STALE_SECONDS).
STALE_SECONDS = 1800


def job_chunks(job: Job) -> Any:
    """A chunked job's chunks: every kind names its chunks' foreign key `related_name="chunks"`."""
    return job.chunks  # type: ignore[attr-defined]


def job_stalled(*, job: Job) -> bool:
    """Running with no heartbeat for JOB_STALE_SECONDS (or none at all): its worker is presumed dead."""
    return job.is_stalled


def job_cancel(*, job: JobT) -> JobT:
    """Ask running workers to stop between batches; a job that never started, or whose worker has
    gone quiet (killed: nobody is left to honour the request), is cancelled at once."""
    jobs = type(job)._default_manager.filter(pk=job.pk)
    quiet = timezone.now() - timedelta(seconds=JOB_STALE_SECONDS)
    with transaction.atomic():
        jobs.update(cancel_requested=True)
        jobs.filter(status=JobStatus.QUEUED).update(status=JobStatus.CANCELLED, finished=timezone.now())
        dead = jobs.filter(status=JobStatus.RUNNING).filter(
            Q(heartbeat__isnull=True) | Q(heartbeat__lt=quiet)
        )
        if dead.update(status=JobStatus.CANCELLED, finished=timezone.now()):
            chunks = getattr(job, "chunks", None)
            if chunks is not None:  # the dead worker's chunks are free again for a retry
                chunks.filter(status=ChunkStatus.RUNNING).update(
                    status=ChunkStatus.PENDING, worker="", heartbeat=None
                )
    job.refresh_from_db()
    return job


def chunked_job_retryable(*, job: Job) -> bool:
    """Failed, cancelled, or running with a worker gone quiet: what a retry may queue again."""
    return job.status in (JobStatus.FAILED, JobStatus.CANCELLED) or job_stalled(job=job)


def job_requeue(*, job: JobT, enqueue: Callable[[], None] | None = None) -> JobT:
    """Queue a job again, the unfinished chunks (if it has any) free for any worker; done work is kept.

    `enqueue` runs inside the transaction, so a task it schedules with `on_commit` sees the new state.
    """
    with transaction.atomic():
        chunks = getattr(job, "chunks", None)
        if chunks is not None:
            chunks.exclude(status=ChunkStatus.DONE).update(
                status=ChunkStatus.PENDING, worker="", heartbeat=None
            )
        type(job)._default_manager.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, error="", cancel_requested=False, finished=None
        )
        if enqueue is not None:
            enqueue()
    job.refresh_from_db()
    return job


def chunks_create(*, chunks: Any, total: int, chunk_size: int) -> None:
    """Cut a job's `total` items, in its order, into chunks of `chunk_size` (the last one shorter).

    `chunks` is the job's reverse manager (`job.chunks`): it knows the job and the chunk model.
    """
    parent = {chunks.field.name: chunks.instance}  # "job" or "run": the chunk's key to its job
    chunks.model.objects.bulk_create(
        chunks.model(**parent, index=i, start=start, end=min(start + chunk_size, total))
        for i, start in enumerate(range(0, total, chunk_size))
    )


def job_status_payload(*, job: Job, done: int, total: int, **extra: Any) -> dict[str, Any]:
    """The JSON a job page's progress bar polls (static/generation/progress.js reads these keys)."""
    return {
        "id": job.pk,
        "status": job.status,
        "prompts_done": done,
        "prompts_total": total,
        **extra,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
    }
