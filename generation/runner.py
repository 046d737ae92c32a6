"""The worker half of generation: claims a job's chunks, runs a backend, commits the samples.

The place that picks a backend (`backend_for`): the in-process engine for a model it loads, or the
served-model client (generation/served.py, no torch) for a model served elsewhere (vLLM). The only
module of the app that imports `generation.engine` (and so torch); it does so when a job actually
needs a loaded model, so importing this module stays cheap. Tasks and `generate --wait` call
`generation_job_run`; the web process never imports this module.

How a run works: `generation_job_run` claims chunks one at a time with a compare-and-set UPDATE
(works on SQLite and PostgreSQL), so any number of workers can run the same job side by side.
Each prompt's k samples are written in ONE transaction together with the selection and the
progress counters; a prompt that already has samples is skipped, so a re-run after a crash
resumes and never duplicates (the unique constraint on (job, prompt, index) is the backstop). A
chunk whose worker stopped heartbeating for STALE_SECONDS can be claimed by another worker.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.chunk_claim import chunk_claim
from core.models import JobStatus
from eval_sets.models import Prompt
from generation.models import GenerationChunk, GenerationJob, ModelSpec, Sample, storable_text
from generation.selection import Selection, select_response
from generation.selectors import generation_job_prompts
from generation.services import STALE_SECONDS, GenerationError, model_path_check

if TYPE_CHECKING:
    from generation.engine import Engine
    from generation.sample_types import PromptResult
    from generation.served import ServedClient

log = logging.getLogger(__name__)

CANCEL_CHECK_SECONDS = 2.0

_ENGINES: dict[tuple[str, str, str, bool], Engine] = {}


def engine_for(spec: ModelSpec) -> Engine:
    """One loaded model per worker process (the last one used), so chunks do not reload it."""
    from generation.engine import Engine

    path = model_path_check(path=spec.path)
    key = (path, spec.kind, spec.dtype, spec.chat_template)
    if key not in _ENGINES:
        _ENGINES.clear()
        _ENGINES[key] = Engine.load(
            path,
            kind=spec.kind or None,
            dtype=spec.dtype,
            chat_template=spec.chat_template,
            batch_size=getattr(settings, "GENERATION_BATCH_SIZE", None),
        )
    return _ENGINES[key]


def backend_for(spec: ModelSpec, *, require_logprobs: bool = True) -> Engine | ServedClient:
    """The engine for a model this worker loads, or a client for a model served elsewhere."""
    if not spec.is_served:
        return engine_for(spec)
    from generation.served import ServedClient, ServedEndpoint

    api_key = None
    if spec.api_key_env:
        api_key = os.environ.get(spec.api_key_env)
        if not api_key:
            raise GenerationError(
                f"model {spec.name!r} reads its API key from ${spec.api_key_env}, which is not set on this worker"
            )
    endpoint = ServedEndpoint(
        base_url=spec.base_url, served_model=spec.served_model, chat=spec.chat, api_key=api_key
    )
    return ServedClient(
        endpoint,
        concurrency=settings.GENERATION_SERVED_CONCURRENCY,
        timeout=float(settings.GENERATION_SERVED_TIMEOUT),
        require_logprobs=require_logprobs,
    )


def _selection(job: GenerationJob, scores: list[float | None]) -> Selection:
    """The job's rule; without scores (a server that returns none) only policy "none" applies."""
    if all(s is not None for s in scores):
        return select_response([float(s) for s in scores if s is not None], job.selection_policy)
    if job.selection_policy != "none":
        from generation.served import NO_LOGPROBS

        raise GenerationError(NO_LOGPROBS)
    # No score to rank by: every sample is kept and the first one answers.
    return Selection(index=0 if scores else None, kept=tuple(range(len(scores))), threshold=None)


def _chunk_claim(job: GenerationJob, worker: str) -> GenerationChunk | None:
    return chunk_claim(job.chunks.all(), worker=worker, stale_seconds=STALE_SECONDS)


def _prompt_commit(
    *, job: GenerationJob, prompt: Prompt, result: PromptResult, run_stats: dict[str, float]
) -> bool:
    """Store one prompt's samples with the selection applied; False if they were already there."""
    selection = _selection(job, [s.logprob_sum for s in result.samples])
    kept = set(selection.kept)
    tokens = sum(s.num_tokens for s in result.samples)
    now = timezone.now()
    try:
        with transaction.atomic():
            if Sample.objects.filter(job=job, prompt=prompt).exists():
                return False
            Sample.objects.bulk_create(
                Sample(
                    job=job,
                    prompt=prompt,
                    index=i,
                    text=storable_text(s.text),
                    prompt_token_ids=result.prompt_token_ids,
                    token_ids=s.token_ids,
                    logprob_sum=s.logprob_sum,
                    num_tokens=s.num_tokens,
                    finish_reason=s.finish_reason,
                    kept=i in kept,
                    selected=i == selection.index,
                    threshold=selection.threshold,
                )
                for i, s in enumerate(result.samples)
            )
            run_stats["tokens"] += tokens
            elapsed = time.perf_counter() - run_stats["t0"]
            GenerationJob.objects.filter(pk=job.pk).update(
                prompts_done=F("prompts_done") + 1,
                tokens_generated=F("tokens_generated") + tokens,
                tokens_per_second=run_stats["tokens"] / elapsed if elapsed > 0 else None,
                heartbeat=now,
            )
            GenerationChunk.objects.filter(pk=int(run_stats["chunk_id"])).update(heartbeat=now)
    except IntegrityError:
        # Another worker committed the same prompt between our check and our insert.
        return False
    return True


def generation_job_run(
    *,
    job_id: int,
    worker: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationJob:
    """Work on a job until no chunk is left to claim; safe to run from several workers at once.

    Failures are recorded on the job (status failed, `error`) and the claimed chunk is released
    so a retry resumes it. `progress(n)` is told each time n prompts were committed.
    """
    from generation.sample_types import PromptRequest, SamplingParams

    job = GenerationJob.objects.select_related("model", "eval_set").get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.CANCELLED):
        return job
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    now = timezone.now()
    if job.cancel_requested:
        return _job_mark_cancelled(job)
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat=now, error="", finished=None
    )
    GenerationJob.objects.filter(pk=job.pk, started__isnull=True).update(started=now)

    prompts = generation_job_prompts(job=job)
    params = SamplingParams(
        samples=job.samples,
        temperature=job.temperature,
        top_p=job.top_p,
        top_k=job.top_k,
        max_new_tokens=job.max_new_tokens,
        min_new_tokens=job.min_new_tokens,
        seed=job.seed,
    )
    run_stats: dict[str, float] = {"tokens": 0.0, "t0": time.perf_counter(), "chunk_id": 0}
    cancel_state = {"checked": 0.0, "flag": False}

    def should_stop() -> bool:
        if time.perf_counter() - cancel_state["checked"] > CANCEL_CHECK_SECONDS:
            cancel_state["checked"] = time.perf_counter()
            cancel_state["flag"] = bool(
                GenerationJob.objects.filter(pk=job.pk).values_list("cancel_requested", flat=True).first()
            )
            # Between batches is also when a worker shows it is alive.
            now = timezone.now()
            GenerationJob.objects.filter(pk=job.pk).update(heartbeat=now)
            if run_stats["chunk_id"]:
                GenerationChunk.objects.filter(pk=int(run_stats["chunk_id"])).update(heartbeat=now)
        return bool(cancel_state["flag"])

    engine: Engine | ServedClient | None = None
    chunk: GenerationChunk | None = None
    try:
        while True:
            cancel_state["checked"] = 0.0
            if should_stop():
                return _job_mark_cancelled(job)
            chunk = _chunk_claim(job, worker)
            if chunk is None:
                break
            run_stats["chunk_id"] = chunk.pk
            slice_ = prompts[chunk.start : chunk.end]
            finished = set(
                Sample.objects.filter(job=job, prompt__in=slice_)
                .values_list("prompt_id", flat=True)
                .distinct()
            )
            # Keyed (and so seeded) by the prompt's id from its source file, not its database row:
            # the same set imported into another database samples the same answers.
            todo = {p.uid: p for p in slice_ if p.pk not in finished}
            if todo:
                if engine is None:
                    engine = backend_for(job.model, require_logprobs=job.selection_policy != "none")
                requests = [
                    PromptRequest(key=key, text=p.text, stop=tuple(str(s) for s in (p.stop or [])))
                    for key, p in todo.items()
                ]

                def on_result(result: PromptResult, todo: dict[str, Prompt] = todo) -> None:
                    committed = _prompt_commit(
                        job=job, prompt=todo[result.key], result=result, run_stats=run_stats
                    )
                    if committed and progress is not None:
                        progress(1)

                engine.generate(requests, params, on_result=on_result, should_stop=should_stop)
                GenerationJob.objects.filter(pk=job.pk).update(engine=engine.last_path[:64])
                if should_stop():
                    GenerationChunk.objects.filter(pk=chunk.pk).update(status=GenerationChunk.Status.PENDING)
                    return _job_mark_cancelled(job)
            GenerationChunk.objects.filter(pk=chunk.pk).update(status=GenerationChunk.Status.DONE)
            chunk = None
    except BaseException as exc:
        if chunk is not None:
            GenerationChunk.objects.filter(pk=chunk.pk).update(
                status=GenerationChunk.Status.PENDING, worker="", heartbeat=None
            )
        GenerationJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000], finished=timezone.now()
        )
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: recorded, then let them through
        log.exception("generation job %s failed", job.pk)
        job.refresh_from_db()
        return job
    return _job_finish_if_complete(job)


def _job_mark_cancelled(job: GenerationJob) -> GenerationJob:
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED, finished=timezone.now())
    job.refresh_from_db()
    return job


def _job_finish_if_complete(job: GenerationJob) -> GenerationJob:
    with transaction.atomic():
        if job.chunks.exclude(status=GenerationChunk.Status.DONE).exists():
            job.refresh_from_db()  # other workers still hold chunks; the last one finishes the job
            return job
        done = Sample.objects.filter(job=job).values("prompt").distinct().count()
        GenerationJob.objects.filter(pk=job.pk).exclude(status=JobStatus.CANCELLED).update(
            status=JobStatus.DONE, prompts_done=done, finished=timezone.now()
        )
    job.refresh_from_db()
    return job


def generation_job_unfinished_elsewhere(*, job_id: int) -> bool:
    """True when chunks are still held by other workers (a redelivered task should wait for them)."""
    return GenerationChunk.objects.filter(job_id=job_id, status=GenerationChunk.Status.RUNNING).exists()
