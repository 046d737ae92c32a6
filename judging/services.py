"""Judge-run services, the web side: create, cancel, retry. Torch-free.

A run's comparisons (the campaign's, in primary-key order) are cut into chunks that workers claim
(judging/runner.py), so runs resume after a crash and several workers can share one. In-process
judges go to the `gpu` queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from annotate.models import Campaign
from core.jobs import chunked_job_retryable, chunks_create, job_cancel, job_requeue
from core.model_loading import ModelPathError, model_path_check
from generation.errors import GenerationError
from generation.models import ModelSpec
from generation.selectors import model_spec_resolve
from judging.errors import JudgingError
from judging.models import JudgeRun
from judging.prompt import PROMPT_VERSION
from judging.selectors import campaign_resolve, judgeable_comparisons

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def judge_run_create(
    *,
    campaign: Campaign | str,
    model: ModelSpec | str,
    chunk_size: int = 16,
    max_answer_chars: int = 3000,
    created_by: User | None = None,
    enqueue: bool = True,
) -> JudgeRun:
    """Validate, store the run and its chunks, and enqueue it once the transaction commits."""
    if chunk_size < 1:
        raise JudgingError("chunk_size must be at least 1")
    if max_answer_chars < 1:
        raise JudgingError("max_answer_chars must be at least 1")
    target = campaign_resolve(campaign=campaign)
    try:
        spec = model_spec_resolve(model=model)
    except GenerationError as exc:
        raise JudgingError(str(exc)) from None
    if spec.source == ModelSpec.Source.EXTERNAL:
        raise JudgingError(
            f"model {spec.name!r} is external (no weights here): import its verdicts with import_judgments"
        )
    try:
        model_path_check(path=spec.path)
    except ModelPathError as exc:
        raise JudgingError(str(exc)) from None
    total = judgeable_comparisons(campaign=target).count()
    if total == 0:
        raise JudgingError(f"campaign {target.name!r} has no comparisons to judge (build it first)")
    with transaction.atomic():
        # `source` stays at its default: a registered model's run (an import says so itself).
        run = JudgeRun.objects.create(
            campaign=target,
            judge=spec,
            name=spec.name,
            prompt_version=PROMPT_VERSION,
            max_answer_chars=max_answer_chars,
            items_total=total,
            chunk_size=chunk_size,
            created_by=created_by,
        )
        chunks_create(chunks=run.chunks, total=total, chunk_size=chunk_size)
        if enqueue:
            _enqueue(run.pk)
    return run


def _enqueue(run_id: int) -> None:
    from judging.tasks import judge_run_task

    transaction.on_commit(lambda: judge_run_task.delay(run_id))


def judge_run_cancel(*, run: JudgeRun) -> JudgeRun:
    """Ask workers to stop between batches; a run that never started is cancelled at once."""
    return job_cancel(job=run)


def judge_run_retry(*, run: JudgeRun, enqueue: bool = True) -> JudgeRun:
    """Queue a failed, cancelled or stalled run again; stored verdicts are kept and skipped."""
    if run.source != JudgeRun.Source.MODEL:
        raise JudgingError("an imported run has nothing to retry: import the file again")
    if not chunked_job_retryable(job=run):
        raise JudgingError(
            f"run {run.pk} is {run.status}: only failed, cancelled or stalled runs can be retried"
        )
    return job_requeue(job=run, enqueue=(lambda: _enqueue(run.pk)) if enqueue else None)
