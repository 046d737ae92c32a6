"""Celery task of the judging app (queue `gpu`): a thin wrapper around the runner."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.chunked_run import chunked_job_task_result


@shared_task(bind=True, acks_late=True, max_retries=None)
def judge_run_task(self: Any, run_id: int) -> str:
    # Imported here so that importing the tasks module (web process) never pulls torch.
    from judging.runner import judge_run_execute

    return chunked_job_task_result(self, judge_run_execute(run_id=run_id))
