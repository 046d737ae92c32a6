"""Celery tasks (queue `gpu`, see CELERY_TASK_ROUTES): thin wrappers over the services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="finetune.tasks.finetune_run")
def finetune_run(job_id: int) -> None:
    from finetune.services import finetune_job_run

    finetune_job_run(job_id=job_id)
