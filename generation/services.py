"""Generation services: registering models, creating, running, cancelling and exporting jobs.

Torch-free at module level: the engine is imported inside the functions that run a model.

How a job runs: at creation its prompts (ordered by position, optionally the first N) are cut
into chunks of `chunk_size` prompts (GenerationChunk rows). `generation_job_run` claims chunks
one at a time with a compare-and-set UPDATE (works on SQLite and PostgreSQL), so any number of
workers can run the same job side by side. Each prompt's k samples are written in ONE
transaction together with the selection and the progress counters; a prompt that already has
samples is skipped, so a re-run after a crash resumes and never duplicates (the unique
constraint on (job, prompt, index) is the backstop). A chunk whose worker stopped
heartbeating for STALE_SECONDS can be claimed by another worker.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.models import JobStatus
from eval_sets.models import EvalSet, Prompt
from eval_sets.selectors import eval_set_resolve
from generation.models import GenerationChunk, GenerationJob, ModelSpec, Sample, SelectionPolicy
from generation.selection import POLICIES, select_response

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from generation.engine import Engine, PromptResult

log = logging.getLogger(__name__)

# A chunk whose worker has not been heard from for this long is handed to another worker.
# Heartbeats come with every committed prompt and between batches, so keep it well above
# the time one batch takes.
STALE_SECONDS = 1800
CANCEL_CHECK_SECONDS = 2.0


class GenerationError(ValueError):
    """A bad request, phrased for the person who made it (commands print it as is)."""


# ---- models ---------------------------------------------------------------------------------
def _looks_local(path: str) -> bool:
    """A Hugging Face id is `name` or `org/name`; anything else path-like is a local directory."""
    return (
        os.path.isabs(path)
        or path.startswith((".", "~"))
        or path.count("/") > 1
        or "\\" in path
        or Path(path).exists()
    )


def model_path_check(*, path: str) -> str:
    """The path to load, or GenerationError when a local directory is missing."""
    path = path.strip()
    if not path:
        raise GenerationError("the model path is empty: give a Hugging Face id or a local directory")
    if _looks_local(path):
        local = Path(path).expanduser()
        if not local.is_dir():
            raise GenerationError(f"model directory {path!r} does not exist")
        return str(local)
    return path


def model_kind_detect(*, path: str) -> str:
    """Kind from a local config.json; "" (detected when the model loads) for a Hub id."""
    config_file = Path(path) / "config.json"
    adapter_file = Path(path) / "adapter_config.json"
    if not config_file.is_file() and adapter_file.is_file():
        try:
            task = json.loads(adapter_file.read_text()).get("task_type")
        except (OSError, ValueError):
            task = None
        return {"CAUSAL_LM": ModelSpec.Kind.CAUSAL, "SEQ_2_SEQ_LM": ModelSpec.Kind.SEQ2SEQ}.get(
            task or "", ""
        )
    if not config_file.is_file():
        return ""
    try:
        config: dict[str, Any] = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise GenerationError(f"cannot read {config_file}: {exc}") from None
    architectures = " ".join(config.get("architectures") or [])
    if (
        config.get("is_encoder_decoder")
        or "ConditionalGeneration" in architectures
        or "Seq2Seq" in architectures
    ):
        return ModelSpec.Kind.SEQ2SEQ
    return ModelSpec.Kind.CAUSAL


def model_spec_register(
    *,
    name: str,
    path: str,
    kind: str | None = None,
    chat_template: bool = False,
    dtype: str = ModelSpec.DType.AUTO,
    source: str = ModelSpec.Source.PATH,
    description: str = "",
) -> ModelSpec:
    name = name.strip()
    if not name:
        raise GenerationError("the model name is empty")
    if ModelSpec.objects.filter(name=name).exists():
        raise GenerationError(f"a model named {name!r} is already registered")
    if kind and kind not in ModelSpec.Kind.values:
        raise GenerationError(f"unknown kind {kind!r}: use causal or seq2seq")
    if dtype not in ModelSpec.DType.values:
        raise GenerationError(f"unknown dtype {dtype!r}: use one of {', '.join(ModelSpec.DType.values)}")
    if source == ModelSpec.Source.EXTERNAL:
        resolved = path.strip()
    else:
        resolved = model_path_check(path=path)
        kind = kind or model_kind_detect(path=resolved)
    return ModelSpec.objects.create(
        name=name,
        path=resolved,
        kind=kind or "",
        chat_template=chat_template,
        dtype=dtype,
        source=source,
        description=description,
    )


def _model_resolve(model: ModelSpec | str) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    found = ModelSpec.objects.filter(name=model).first()
    if found is None:
        known = ", ".join(ModelSpec.objects.values_list("name", flat=True)) or "none yet"
        raise GenerationError(f"no model named {model!r} (registered: {known})")
    return found


def _eval_set_resolve(eval_set: EvalSet | str) -> EvalSet:
    if isinstance(eval_set, EvalSet):
        return eval_set
    try:
        return eval_set_resolve(spec=eval_set)
    except ValueError as exc:
        raise GenerationError(str(exc)) from None


# ---- jobs -------------------------------------------------------------------------------------
def generation_job_create(
    *,
    model: ModelSpec | str,
    eval_set: EvalSet | str,
    samples: int = 5,
    temperature: float = 0.7,
    top_p: float = 1.0,
    top_k: int = 0,
    max_new_tokens: int = 256,
    min_new_tokens: int = 0,
    seed: int = 0,
    selection_policy: str = SelectionPolicy.PAPER,
    limit: int | None = None,
    chunk_size: int = 32,
    created_by: User | None = None,
    enqueue: bool = True,
    workers: int = 1,
) -> GenerationJob:
    """Validate everything that can be checked without a model, then store and (optionally) enqueue.

    `workers` tasks are enqueued: they share the job's chunks.
    """
    if samples < 1:
        raise GenerationError("samples must be at least 1")
    if not temperature > 0:
        raise GenerationError("temperature must be greater than 0 (use a small value for near-greedy output)")
    if not 0 < top_p <= 1:
        raise GenerationError("top_p must be in (0, 1]")
    if top_k < 0:
        raise GenerationError("top_k must be 0 (off) or positive")
    if max_new_tokens < 1:
        raise GenerationError("max_new_tokens must be at least 1")
    if not 0 <= min_new_tokens <= max_new_tokens:
        raise GenerationError("min_new_tokens must be between 0 and max_new_tokens")
    if selection_policy not in POLICIES:
        raise GenerationError(f"unknown selection policy {selection_policy!r}: use {' or '.join(POLICIES)}")
    if limit is not None and limit < 1:
        raise GenerationError("limit must be at least 1 prompt")
    if chunk_size < 1:
        raise GenerationError("chunk_size must be at least 1")
    if workers < 1:
        raise GenerationError("workers must be at least 1")
    spec = _model_resolve(model)
    if spec.source == ModelSpec.Source.EXTERNAL:
        raise GenerationError(
            f"model {spec.name!r} is external (responses made elsewhere): use import_outputs, not generate"
        )
    model_path_check(path=spec.path)
    target = _eval_set_resolve(eval_set)
    total = target.prompts.count()
    if limit is not None:
        total = min(total, limit)
    if total == 0:
        raise GenerationError(f"evaluation set {target} has no prompts")

    with transaction.atomic():
        job = GenerationJob.objects.create(
            model=spec,
            eval_set=target,
            samples=samples,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            seed=seed,
            selection_policy=selection_policy,
            prompt_limit=limit,
            chunk_size=chunk_size,
            prompts_total=total,
            created_by=created_by,
        )
        GenerationChunk.objects.bulk_create(
            GenerationChunk(job=job, index=i, start=start, end=min(start + chunk_size, total))
            for i, start in enumerate(range(0, total, chunk_size))
        )
        if enqueue:
            _enqueue(job.pk, workers)
    return job


def _enqueue(job_id: int, workers: int = 1) -> None:
    from generation.tasks import generation_job_run_task

    for _ in range(workers):
        transaction.on_commit(lambda: generation_job_run_task.delay(job_id))


def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Ask running workers to stop between batches; a job that never started is cancelled at once."""
    with transaction.atomic():
        GenerationJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        GenerationJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, finished=timezone.now()
        )
    job.refresh_from_db()
    return job


def generation_job_retry(*, job: GenerationJob, enqueue: bool = True) -> GenerationJob:
    """Queue a failed or cancelled job again; finished prompts are kept and skipped."""
    stale = job.heartbeat is None or job.heartbeat < timezone.now() - timedelta(seconds=STALE_SECONDS)
    if not (
        job.status in (JobStatus.FAILED, JobStatus.CANCELLED) or (job.status == JobStatus.RUNNING and stale)
    ):
        raise GenerationError(
            f"job {job.pk} is {job.status}: only failed, cancelled or stalled jobs can be retried"
        )
    with transaction.atomic():
        job.chunks.exclude(status=GenerationChunk.Status.DONE).update(
            status=GenerationChunk.Status.PENDING, worker="", heartbeat=None
        )
        GenerationJob.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, error="", cancel_requested=False, finished=None
        )
        if enqueue:
            _enqueue(job.pk)
    job.refresh_from_db()
    return job


def job_prompts(job: GenerationJob) -> list[Prompt]:
    prompts = job.eval_set.prompts.order_by("position", "pk")
    if job.prompt_limit is not None:
        prompts = prompts[: job.prompt_limit]
    return list(prompts)


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


def _chunk_claim(job: GenerationJob, worker: str) -> GenerationChunk | None:
    now = timezone.now()
    stale = now - timedelta(seconds=STALE_SECONDS)
    candidates = job.chunks.filter(
        Q(status=GenerationChunk.Status.PENDING)
        | Q(status=GenerationChunk.Status.RUNNING, heartbeat__lt=stale)
        | Q(status=GenerationChunk.Status.RUNNING, heartbeat__isnull=True)
    ).order_by("index")
    for chunk in candidates:
        same = GenerationChunk.objects.filter(pk=chunk.pk, status=chunk.status)
        same = (
            same.filter(heartbeat=chunk.heartbeat) if chunk.heartbeat else same.filter(heartbeat__isnull=True)
        )
        if same.update(status=GenerationChunk.Status.RUNNING, worker=worker, heartbeat=now):
            chunk.refresh_from_db()
            return chunk
    return None


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL; models (byte-level ones especially) can emit it.

    NUL becomes U+FFFD in the stored text; the token ids keep the exact output.
    """
    return text.replace("\x00", "\ufffd")


def _prompt_commit(
    *, job: GenerationJob, prompt: Prompt, result: PromptResult, run_stats: dict[str, float]
) -> bool:
    """Store one prompt's samples with the selection applied; False if they were already there."""
    selection = select_response([s.logprob_sum for s in result.samples], job.selection_policy)
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
    from generation.engine import PromptRequest, SamplingParams

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

    prompts = job_prompts(job)
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

    engine: Engine | None = None
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
            todo = {str(p.pk): p for p in slice_ if p.pk not in finished}
            if todo:
                if engine is None:
                    engine = engine_for(job.model)
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


# ---- export -----------------------------------------------------------------------------------
EXPORT_FIELDS = (
    "prompt_id",
    "sample_index",
    "text",
    "logprob_sum",
    "num_tokens",
    "finish_reason",
    "kept",
    "selected",
)


def generation_export_rows(*, job: GenerationJob, with_tokens: bool = False) -> Iterator[dict[str, Any]]:
    samples = (
        Sample.objects.filter(job=job)
        .select_related("prompt")
        .order_by("prompt__position", "prompt_id", "index")
    )
    for s in samples.iterator(chunk_size=500):
        row: dict[str, Any] = {
            "prompt_id": s.prompt.uid,
            "sample_index": s.index,
            "text": s.text,
            "logprob_sum": s.logprob_sum,
            "num_tokens": s.num_tokens,
            "finish_reason": s.finish_reason,
            "kept": s.kept,
            "selected": s.selected,
        }
        if with_tokens:
            row["prompt_token_ids"] = s.prompt_token_ids
            row["token_ids"] = s.token_ids
        yield row


def generation_export_lines(*, job: GenerationJob, with_tokens: bool = False) -> Iterator[str]:
    for row in generation_export_rows(job=job, with_tokens=with_tokens):
        yield json.dumps(row, ensure_ascii=False) + "\n"


# ---- responses made elsewhere -------------------------------------------------------------------
def _records_read(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GenerationError(f"cannot read {path}: {exc.strerror}") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise GenerationError(f"{path} is not valid JSON: {exc}") from None
        records = list(data)
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise GenerationError(f"{path} line {number} is not valid JSON: {exc}") from None
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise GenerationError(f"record {number} of {path} is not a JSON object")
    if not records:
        raise GenerationError(f"{path} holds no responses")
    return records


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outputs_import(*, model_name: str, eval_set: EvalSet | str, path: Path | str) -> GenerationJob:
    """Record responses made elsewhere as an external system: one selected sample per prompt.

    Accepts JSONL of {"prompt_id", "response"} or an AlpacaEval outputs file (JSON list or
    JSONL of {"instruction", "output"}), matched to prompts by text. All or nothing.
    """
    target = _eval_set_resolve(eval_set)
    records = _records_read(Path(path))
    prompts = list(target.prompts.all())
    by_uid = {p.uid: p for p in prompts}
    by_text: dict[str, Prompt] = {}
    for p in prompts:
        by_text.setdefault(p.text.strip(), p)

    pairs: list[tuple[Prompt, str]] = []
    unknown: list[str] = []
    for number, record in enumerate(records, 1):
        if "prompt_id" in record:
            key = str(record["prompt_id"])
            response = record.get("response", record.get("output"))
            found = by_uid.get(key)
            label = key
        elif "instruction" in record:
            key = str(record["instruction"])
            response = record.get("output", record.get("response"))
            found = by_text.get(key.strip())
            label = repr(_short(key))
        else:
            raise GenerationError(f"record {number}: needs prompt_id and response, or instruction and output")
        if not isinstance(response, str):
            raise GenerationError(f"record {number}: the response must be a string")
        if found is None:
            unknown.append(label)
        else:
            pairs.append((found, response))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise GenerationError(f"{len(unknown)} prompt(s) not in {target}: {shown}; nothing imported")
    seen: set[int] = set()
    for prompt, _ in pairs:
        if prompt.pk in seen:
            raise GenerationError(f"prompt {prompt.uid} appears more than once; nothing imported")
        seen.add(prompt.pk)

    now = timezone.now()
    with transaction.atomic():
        spec = ModelSpec.objects.filter(name=model_name).first()
        if spec is None:
            spec = ModelSpec.objects.create(
                name=model_name,
                source=ModelSpec.Source.EXTERNAL,
                description=f"imported from {Path(path).name}",
            )
        elif spec.source != ModelSpec.Source.EXTERNAL:
            raise GenerationError(
                f"model {model_name!r} is registered with weights ({spec.source}), not external"
            )
        job = GenerationJob.objects.create(
            model=spec,
            eval_set=target,
            samples=1,
            selection_policy=SelectionPolicy.NONE,
            status=JobStatus.DONE,
            prompts_total=len(pairs),
            prompts_done=len(pairs),
            started=now,
            finished=now,
            engine="import_outputs",
        )
        Sample.objects.bulk_create(
            Sample(
                job=job,
                prompt=prompt,
                index=0,
                text=storable_text(response),
                logprob_sum=None,
                num_tokens=0,
                finish_reason=Sample.FinishReason.EXTERNAL,
                kept=True,
                selected=True,
            )
            for prompt, response in pairs
        )
    return job


# ---- read side ------------------------------------------------------------------------------------
def generation_job_status(*, job: GenerationJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "prompts_done": job.prompts_done,
        "prompts_total": job.prompts_total,
        "tokens_generated": job.tokens_generated,
        "tokens_per_second": round(job.tokens_per_second, 1) if job.tokens_per_second else None,
        "heartbeat": job.heartbeat.isoformat() if job.heartbeat else None,
        "engine": job.engine,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
    }
