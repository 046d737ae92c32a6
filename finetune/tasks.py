"""Celery tasks (queue `gpu`, see CELERY_TASK_ROUTES): ids in, the runner does the work."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="finetune.tasks.finetune_run")
def finetune_run(job_id: int) -> None:
    from finetune.runner import finetune_job_run  # torch: only the worker pays for it

    finetune_job_run(job_id=job_id)
