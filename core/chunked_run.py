"""The worker side of a chunked job: claim chunks until none is left, then say how the run ended.

Generation and judging run the same skeleton: mark the job running, claim a chunk (a
compare-and-set UPDATE, core/chunk_claim.py, so any number of workers can share a job), work the
chunk's items that have no result yet, mark it done, and at the end finish the job if every chunk
is done (the last worker does). A cancel request is honoured between chunks (and, by the work
itself, between batches); a failure is recorded on the job and the claimed chunk released, so a
retry resumes where it stopped. A chunk whose worker stopped heartbeating for STALE_SECONDS can be
claimed by another worker. Torch-free: what a chunk's work loads is the caller's business.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from django.db import transaction
from django.utils import timezone

from core.chunk_claim import chunk_claim
from core.events import event_send_on_commit, job_ended
from core.jobs import STALE_SECONDS, job_chunks
from core.models import ChunkStatus, Job, JobStatus

log = logging.getLogger(__name__)

JobT = TypeVar("JobT", bound=Job)

# A task whose job still has chunks running on other workers comes back after this long, in case
# one of them dies (its chunk then goes stale and this worker takes it over).
RECHECK_SECONDS = 120


class ChunkWork(Protocol):
    """What one kind of job does with its items; `chunked_job_run` does everything else.

    `items` are the job's items (rows with a pk) in the order its chunks slice them.
    """

    @property
    def items(self) -> Sequence[Any]: ...

    def finished_among(self, items: Sequence[Any]) -> set[int]:
        """The pks of those items that already have a result (a re-run skips them)."""
        ...

    def run_items(self, chunk: Any, items: list[Any]) -> bool:
        """Work these items of a claimed chunk; False when a cancel request stopped it half way."""
        ...

    def done_fields(self) -> dict[str, Any]:
        """The fields set on the job when its last chunk is done (its final count of results)."""
        ...


def job_cancel_requested(*, job: Job) -> bool:
    """The flag as stored now (the web side sets it while the worker runs)."""
    flag = type(job)._default_manager.filter(pk=job.pk).values_list("cancel_requested", flat=True).first()
    return bool(flag)


def chunked_job_claim(*, job: Job, worker: str) -> Any:
    """The job's first free chunk, now running for `worker`; None when none is free."""
    return chunk_claim(job_chunks(job).all(), worker=worker, stale_seconds=STALE_SECONDS)


def chunked_job_run(*, job: JobT, start: Callable[[], ChunkWork], worker: str | None = None) -> JobT:
    """Work on `job` until no chunk is left to claim; safe to run from several workers at once.

    `start()` prepares the work (lists the items, nothing loaded yet) once the job is marked running.
    A failure is recorded on the job (status failed, `error`) and the claimed chunk released;
    KeyboardInterrupt and SystemExit are recorded too, then let through.
    """
    if job.status in (JobStatus.DONE, JobStatus.CANCELLED):
        return job
    if job.cancel_requested:
        return _job_mark_cancelled(job)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    jobs = type(job)._default_manager.filter(pk=job.pk)
    now = timezone.now()
    jobs.update(status=JobStatus.RUNNING, heartbeat=now, error="", finished=None)
    jobs.filter(started__isnull=True).update(started=now)
    chunk: Any = None
    try:
        work = start()
        while True:
            if job_cancel_requested(job=job):
                return _job_mark_cancelled(job)
            chunk = chunked_job_claim(job=job, worker=worker)
            if chunk is None:
                break
            chunk_row = type(chunk)._default_manager.filter(pk=chunk.pk)
            items = work.items[chunk.start : chunk.end]
            finished = work.finished_among(items)
            todo = [item for item in items if item.pk not in finished]
            if todo and not work.run_items(chunk, todo):
                chunk_row.update(status=ChunkStatus.PENDING)
                return _job_mark_cancelled(job)
            chunk_row.update(status=ChunkStatus.DONE)
            chunk = None
    except BaseException as exc:
        if chunk is not None:
            type(chunk)._default_manager.filter(pk=chunk.pk).update(
                status=ChunkStatus.PENDING, worker="", heartbeat=None
            )
        jobs.update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000], finished=timezone.now()
        )
        job.refresh_from_db()
        event_send_on_commit(job_ended, sender=type(job), job=job, status=JobStatus.FAILED)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: recorded, then let through
        log.exception("%s failed", job)
        return job
    return _job_finish_if_complete(job, work)


def _job_mark_cancelled(job: JobT) -> JobT:
    type(job)._default_manager.filter(pk=job.pk).update(status=JobStatus.CANCELLED, finished=timezone.now())
    job.refresh_from_db()
    return job


def _job_finish_if_complete(job: JobT, work: ChunkWork) -> JobT:
    with transaction.atomic():
        if job_chunks(job).exclude(status=ChunkStatus.DONE).exists():
            job.refresh_from_db()  # other workers still hold chunks; the last one finishes the job
            return job
        finished = (
            type(job)
            ._default_manager.filter(pk=job.pk)
            .exclude(status=JobStatus.CANCELLED)
            .update(status=JobStatus.DONE, finished=timezone.now(), **work.done_fields())
        )
        job.refresh_from_db()
        if finished:
            event_send_on_commit(job_ended, sender=type(job), job=job, status=JobStatus.DONE)
    return job


def chunked_job_task_result(task: Any, job: Job) -> str:
    """What a job's Celery task returns: its status, or a retry while other workers hold chunks.

    A redelivered task finds the job still running elsewhere; it comes back later in case one of
    those workers dies.
    """
    if job.status == JobStatus.RUNNING and job_chunks(job).filter(status=ChunkStatus.RUNNING).exists():
        raise task.retry(countdown=RECHECK_SECONDS)
    return str(job.status)
