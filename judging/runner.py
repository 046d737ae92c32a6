"""The worker half of judging: claims a run's chunks, asks the judge in both orders, stores verdicts.

The only importer of judging.verdict_model (and so torch), and only when a run needs a model. Chunks
are claimed with a compare-and-set UPDATE like generation's, so runs resume after a crash (a
comparison with a stored verdict is skipped; the unique constraint is the backstop) and several
workers can share a run. Cancellation is checked between batches.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.chunk_claim import chunk_claim
from core.models import JobStatus
from generation.models import ModelSpec
from generation.services import STALE_SECONDS, model_path_check
from judging.models import JudgeChunk, JudgeRun, Verdict
from judging.prompt import combine_orders, judge_prompt
from judging.selectors import judgeable_comparisons

if TYPE_CHECKING:
    from judging.verdict_model import VerdictModel

log = logging.getLogger(__name__)

_MODELS: dict[tuple[str, str, str, bool], VerdictModel] = {}


def verdict_model_for(spec: ModelSpec) -> VerdictModel:
    """One loaded judge per worker process (the last one used), so chunks do not reload it."""
    from judging.verdict_model import VerdictModel

    path = model_path_check(path=spec.path)
    key = (path, spec.kind, spec.dtype, spec.chat_template)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = VerdictModel.load(
            path,
            kind=spec.kind or None,
            dtype=spec.dtype,
            chat_template=spec.chat_template,
            batch_size=getattr(settings, "JUDGE_BATCH_SIZE", 8),
        )
    return _MODELS[key]


def _chunk_claim(run: JudgeRun, worker: str) -> JudgeChunk | None:
    return chunk_claim(run.chunks.all(), worker=worker, stale_seconds=STALE_SECONDS)


def _cancel_requested(run: JudgeRun) -> bool:
    return bool(JudgeRun.objects.filter(pk=run.pk).values_list("cancel_requested", flat=True).first())


def judge_run_execute(*, run_id: int, worker: str | None = None) -> JudgeRun:
    """Work on a run until no chunk is left; failures are recorded on the run and its chunk released."""
    run = JudgeRun.objects.select_related("judge", "campaign").get(pk=run_id)
    if run.status in (JobStatus.DONE, JobStatus.CANCELLED):
        return run
    if run.cancel_requested:
        return _mark_cancelled(run)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    now = timezone.now()
    JudgeRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING, heartbeat=now, error="", finished=None
    )
    JudgeRun.objects.filter(pk=run.pk, started__isnull=True).update(started=now)
    comparisons = list(judgeable_comparisons(campaign=run.campaign))
    judge: VerdictModel | None = None
    chunk: JudgeChunk | None = None
    try:
        while True:
            if _cancel_requested(run):
                return _mark_cancelled(run)
            chunk = _chunk_claim(run, worker)
            if chunk is None:
                break
            slice_ = comparisons[chunk.start : chunk.end]
            done = set(
                Verdict.objects.filter(run=run, comparison__in=slice_).values_list("comparison_id", flat=True)
            )
            todo = [c for c in slice_ if c.pk not in done]
            if todo:
                assert run.judge is not None
                judge = judge or verdict_model_for(run.judge)
                step = max(1, judge.batch_size // 2)
                for start in range(0, len(todo), step):
                    if _cancel_requested(run):
                        JudgeChunk.objects.filter(pk=chunk.pk).update(status=JudgeChunk.Status.PENDING)
                        return _mark_cancelled(run)
                    _batch_judge(run, chunk, judge, todo[start : start + step])
                JudgeRun.objects.filter(pk=run.pk).update(engine=f"in-process {judge.kind}"[:64])
            JudgeChunk.objects.filter(pk=chunk.pk).update(status=JudgeChunk.Status.DONE)
            chunk = None
    except BaseException as exc:
        if chunk is not None:
            JudgeChunk.objects.filter(pk=chunk.pk).update(
                status=JudgeChunk.Status.PENDING, worker="", heartbeat=None
            )
        JudgeRun.objects.filter(pk=run.pk).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000], finished=timezone.now()
        )
        if not isinstance(exc, Exception):
            raise
        log.exception("judge run %s failed", run.pk)
        run.refresh_from_db()
        return run
    return _finish_if_complete(run)


def _batch_judge(run: JudgeRun, chunk: JudgeChunk, judge: VerdictModel, batch: list) -> None:
    prompts = []
    for c in batch:
        prompts.append(
            judge_prompt(
                instruction=c.prompt.text,
                first=c.texts.text_a,
                second=c.texts.text_b,
                max_answer_chars=run.max_answer_chars,
            )
        )
        prompts.append(
            judge_prompt(
                instruction=c.prompt.text,
                first=c.texts.text_b,
                second=c.texts.text_a,
                max_answer_chars=run.max_answer_chars,
            )
        )
    probs = judge.verdict_probabilities(prompts)
    for i, c in enumerate(batch):
        v = combine_orders(a_first=probs[2 * i], b_first=probs[2 * i + 1])
        now = timezone.now()
        try:
            with transaction.atomic():
                Verdict.objects.create(
                    run=run,
                    comparison=c,
                    p_a=v.p_a,
                    p_tie=v.p_tie,
                    p_b=v.p_b,
                    p_a_ab=v.ab[0],
                    p_tie_ab=v.ab[1],
                    p_b_ab=v.ab[2],
                    p_a_ba=v.ba[0],
                    p_tie_ba=v.ba[1],
                    p_b_ba=v.ba[2],
                    consistent=v.consistent,
                )
                JudgeRun.objects.filter(pk=run.pk).update(items_done=F("items_done") + 1, heartbeat=now)
                JudgeChunk.objects.filter(pk=chunk.pk).update(heartbeat=now)
        except IntegrityError:
            continue  # another worker stored this comparison's verdict first


def _mark_cancelled(run: JudgeRun) -> JudgeRun:
    JudgeRun.objects.filter(pk=run.pk).update(status=JobStatus.CANCELLED, finished=timezone.now())
    run.refresh_from_db()
    return run


def _finish_if_complete(run: JudgeRun) -> JudgeRun:
    with transaction.atomic():
        if run.chunks.exclude(status=JudgeChunk.Status.DONE).exists():
            run.refresh_from_db()
            return run
        JudgeRun.objects.filter(pk=run.pk).exclude(status=JobStatus.CANCELLED).update(
            status=JobStatus.DONE, items_done=Verdict.objects.filter(run=run).count(), finished=timezone.now()
        )
    run.refresh_from_db()
    return run


def judge_run_unfinished_elsewhere(*, run_id: int) -> bool:
    return JudgeChunk.objects.filter(run_id=run_id, status=JudgeChunk.Status.RUNNING).exists()
