"""Celery tasks (queue `gpu`, see CELERY_TASK_ROUTES): ids in, the runner does the work."""

from __future__ import annotations

from celery import shared_task

from core.events import event_send_on_commit, job_ended
from core.models import JobStatus


@shared_task(name="finetune.tasks.finetune_run")
def finetune_run(job_id: int) -> None:
    from finetune.runner import finetune_job_run  # torch: only the worker pays for it

    try:
        finetune_job_run(job_id=job_id)
    finally:
        _announce_end(job_id)


def _announce_end(job_id: int) -> None:
    """The runner records how the job ended; say so to listeners (core.events) when it did."""
    from finetune.models import FinetuneJob

    job = FinetuneJob.objects.filter(pk=job_id).first()
    if job is not None and job.status in (JobStatus.DONE, JobStatus.FAILED):
        event_send_on_commit(job_ended, sender=FinetuneJob, job=job, status=job.status)
