"""Celery task of the judging app (queue `gpu`): a thin wrapper around the runner."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.models import JobStatus


@shared_task(bind=True, acks_late=True, max_retries=None)
def judge_run_task(self: Any, run_id: int) -> str:
    # Imported here so that importing the tasks module (web process) never pulls torch.
    from judging.runner import judge_run_execute, judge_run_unfinished_elsewhere

    run = judge_run_execute(run_id=run_id)
    if run.status == JobStatus.RUNNING and judge_run_unfinished_elsewhere(run_id=run_id):
        raise self.retry(countdown=120)
    return str(run.status)
