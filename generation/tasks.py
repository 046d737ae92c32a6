"""Celery tasks of the generation app: thin wrappers around the runner.

Queue `gpu` (the route in settings) for in-process models; `default` for models served elsewhere
(services.generation_queue), whose jobs need no GPU on the worker.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.chunked_run import chunked_job_task_result


@shared_task(bind=True, acks_late=True, max_retries=None)
def generation_job_run_task(self: Any, job_id: int) -> str:
    # Imported here so that importing the tasks module (web process) never pulls torch.
    from generation.runner import generation_job_run

    return chunked_job_task_result(self, generation_job_run(job_id=job_id))
