"""Generation services, the web side: registering models and creating, cancelling, retrying jobs.

Torch-free. How a job runs: at creation its prompts (ordered by position, optionally the first N)
are cut into chunks of `chunk_size` prompts (GenerationChunk rows) and tasks are enqueued once the
transaction commits; workers claim the chunks (generation/runner.py), so several can share a job.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from core.models import JobStatus
from eval_sets.models import EvalSet
from generation.errors import GenerationError
from generation.model_kind import ModelKindError, model_kind_detect
from generation.models import GenerationChunk, GenerationJob, ModelSpec, SelectionPolicy
from generation.selection import POLICIES
from generation.selectors import generation_eval_set_resolve, model_spec_resolve

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "STALE_SECONDS",
    "GenerationError",
    "generation_job_cancel",
    "generation_job_create",
    "generation_job_retry",
    "model_path_check",
    "model_spec_register",
    "model_spec_register_served",
]

# A chunk whose worker has not been heard from for this long is handed to another worker (and its
# job may be retried). Heartbeats come with every committed prompt and between batches, so keep
# it well above the time one batch takes.
STALE_SECONDS = 1800


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
    """Register a model under a name; its kind comes from a local config when not given.

    A Hub id's kind is left blank here (the web process does not fetch configs): the worker
    detects it when it loads the model.
    """
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
        if not kind:
            try:
                kind = model_kind_detect(resolved)
            except ModelKindError as exc:
                raise GenerationError(str(exc)) from None
    return ModelSpec.objects.create(
        name=name,
        path=resolved,
        kind=kind or "",
        chat_template=chat_template,
        dtype=dtype,
        source=source,
        description=description,
    )


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_name_valid(name: str) -> bool:
    """Whether `name` can be an environment variable's name (and so is not a pasted key)."""
    return bool(_ENV_NAME.match(name.strip()))


def model_spec_register_served(
    *,
    name: str,
    base_url: str,
    served_model: str,
    chat: bool = False,
    api_key_env: str = "",
    description: str = "",
) -> ModelSpec:
    """Register a model served elsewhere (OpenAI-compatible: vLLM and the like).

    Only the address and names are stored. The API key, when the server needs one, is read by the
    worker from the environment variable `api_key_env`: it never reaches the database or a page.
    """
    name = name.strip()
    if not name:
        raise GenerationError("the model name is empty")
    if ModelSpec.objects.filter(name=name).exists():
        raise GenerationError(f"a model named {name!r} is already registered")
    base_url = base_url.strip().rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GenerationError(f"base URL {base_url!r} is not an http(s) URL (e.g. http://gpu-host:8000/v1)")
    if parts.username or parts.password or parts.query:
        raise GenerationError("put no credentials or query in the base URL: name a key with --api-key-env")
    served_model = served_model.strip()
    if not served_model:
        raise GenerationError("the served model name is empty (vLLM: --served-model-name, or the model path)")
    api_key_env = api_key_env.strip()
    if api_key_env and not env_name_valid(api_key_env):
        raise GenerationError(
            f"{api_key_env!r} is not an environment variable name: give the variable's NAME, not the key"
        )
    return ModelSpec.objects.create(
        name=name,
        source=ModelSpec.Source.PATH,
        backend=ModelSpec.Backend.OPENAI,
        base_url=base_url,
        served_model=served_model,
        chat=chat,
        api_key_env=api_key_env,
        description=description,
    )


def generation_queue(spec: ModelSpec) -> str:
    """Served models need no GPU on the worker: their jobs go to the `default` queue."""
    return "default" if spec.is_served else "gpu"


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
    spec = model_spec_resolve(model=model)
    if spec.source == ModelSpec.Source.EXTERNAL:
        raise GenerationError(
            f"model {spec.name!r} is external (responses made elsewhere): use import_outputs, not generate"
        )
    if not spec.is_served:
        model_path_check(path=spec.path)
    target = generation_eval_set_resolve(eval_set=eval_set)
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
            _enqueue(job.pk, workers, queue=generation_queue(spec))
    return job


def _enqueue(job_id: int, workers: int = 1, *, queue: str = "gpu") -> None:
    from generation.tasks import generation_job_run_task

    for _ in range(workers):
        if queue == "gpu":  # the task's route (settings.CELERY_TASK_ROUTES)
            transaction.on_commit(lambda: generation_job_run_task.delay(job_id))
        else:  # an explicit queue wins over the route
            transaction.on_commit(lambda: generation_job_run_task.apply_async((job_id,), queue=queue))


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
            _enqueue(job.pk, queue=generation_queue(job.model))
    job.refresh_from_db()
    return job
