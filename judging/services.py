"""Judge-run services, the web side: create, cancel, retry. Torch-free.

A run's comparisons (the campaign's, in primary-key order) are cut into chunks that workers claim
(judging/runner.py), so runs resume after a crash and several workers can share one. In-process
judges go to the `gpu` queue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign
from core.models import JobStatus
from generation.models import ModelSpec
from generation.selectors import model_spec_resolve
from generation.services import STALE_SECONDS, GenerationError, model_path_check
from judging.errors import JudgingError
from judging.models import JudgeChunk, JudgeRun
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
    except GenerationError as exc:
        raise JudgingError(str(exc)) from None
    total = judgeable_comparisons(campaign=target).count()
    if total == 0:
        raise JudgingError(f"campaign {target.name!r} has no comparisons to judge (build it first)")
    with transaction.atomic():
        run = JudgeRun.objects.create(
            campaign=target,
            judge=spec,
            name=spec.name,
            source=JudgeRun.Source.MODEL,
            prompt_version=PROMPT_VERSION,
            max_answer_chars=max_answer_chars,
            items_total=total,
            chunk_size=chunk_size,
            created_by=created_by,
        )
        JudgeChunk.objects.bulk_create(
            JudgeChunk(run=run, index=i, start=start, end=min(start + chunk_size, total))
            for i, start in enumerate(range(0, total, chunk_size))
        )
        if enqueue:
            _enqueue(run.pk)
    return run


def _enqueue(run_id: int) -> None:
    from judging.tasks import judge_run_task

    transaction.on_commit(lambda: judge_run_task.delay(run_id))


def judge_run_cancel(*, run: JudgeRun) -> JudgeRun:
    """Ask workers to stop between batches; a run that never started is cancelled at once."""
    with transaction.atomic():
        JudgeRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        JudgeRun.objects.filter(pk=run.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, finished=timezone.now()
        )
    run.refresh_from_db()
    return run


def judge_run_retry(*, run: JudgeRun, enqueue: bool = True) -> JudgeRun:
    """Queue a failed, cancelled or stalled run again; stored verdicts are kept and skipped."""
    stale = run.heartbeat is None or run.heartbeat < timezone.now() - timedelta(seconds=STALE_SECONDS)
    if run.source != JudgeRun.Source.MODEL:
        raise JudgingError("an imported run has nothing to retry: import the file again")
    if not (
        run.status in (JobStatus.FAILED, JobStatus.CANCELLED) or (run.status == JobStatus.RUNNING and stale)
    ):
        raise JudgingError(
            f"run {run.pk} is {run.status}: only failed, cancelled or stalled runs can be retried"
        )
    with transaction.atomic():
        run.chunks.exclude(status=JudgeChunk.Status.DONE).update(
            status=JudgeChunk.Status.PENDING, worker="", heartbeat=None
        )
        JudgeRun.objects.filter(pk=run.pk).update(
            status=JobStatus.QUEUED, error="", cancel_requested=False, finished=None
        )
        if enqueue:
            _enqueue(run.pk)
    run.refresh_from_db()
    return run
