"""Generation services, the web side: registering models and creating, cancelling, retrying jobs.

Torch-free. How a job runs: at creation its prompts (ordered by position, optionally the first N)
are cut into chunks of `chunk_size` prompts (GenerationChunk rows) and tasks are enqueued once the
transaction commits; workers claim the chunks (generation/runner.py), so several can share a job.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from core.jobs import chunked_job_retryable, chunks_create, job_cancel, job_requeue
from core.model_loading import ModelPathError, model_path_check
from eval_sets.models import EvalSet
from generation.errors import GenerationError
from generation.model_kind import ModelKindError, model_kind_detect
from generation.models import GenerationJob, ModelSpec
from generation.params import DEFAULTS, GenerationParams
from generation.selectors import generation_eval_set_resolve, model_spec_resolve
from generation.served_policy import HostAllowList, ServedPolicyError, api_key_env_check, base_url_allowed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "GenerationError",
    "generation_job_cancel",
    "generation_job_create",
    "generation_job_retry",
    "model_spec_register",
    "model_spec_register_served",
]


# ---- models ---------------------------------------------------------------------------------
def _model_path(path: str) -> str:
    """The path to load (core's check), refused as a GenerationError like every other bad request."""
    try:
        return model_path_check(path=path)
    except ModelPathError as exc:
        raise GenerationError(str(exc)) from None


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
        resolved = _model_path(path)
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


def served_api_key_env_check(name: str) -> str:
    """The variable's name, stripped, if a served model may read its key from it; GenerationError if not.

    One rule for the form, the command and the service (the worker applies it again at run time).
    """
    name = name.strip()
    if not name:
        return ""
    if not env_name_valid(name):
        # Not echoed: what was typed may be the key itself.
        raise GenerationError(
            "that is not an environment variable name: give the variable's NAME, not the key"
        )
    try:
        api_key_env_check(
            name=name, patterns=settings.SERVED_API_KEY_VARS, platform=settings.PLATFORM_ENV_VARS
        )
    except ServedPolicyError as exc:
        raise GenerationError(str(exc)) from None
    return name


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
    served_model = served_model.strip()
    if not served_model:
        raise GenerationError("the served model name is empty (vLLM: --served-model-name, or the model path)")
    api_key_env = served_api_key_env_check(api_key_env)
    try:
        # Resolved now, every address checked; the worker checks again at each connection.
        base_url = base_url_allowed(
            base_url=base_url, allowed=HostAllowList.parse(settings.SERVED_ALLOWED_HOSTS)
        )
    except ServedPolicyError as exc:
        raise GenerationError(str(exc)) from None
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
    params: GenerationParams = DEFAULTS,
    created_by: User | None = None,
    enqueue: bool = True,
    workers: int = 1,
) -> GenerationJob:
    """Validate everything that can be checked without a model, then store and (optionally) enqueue.

    `params` are checked by their one rule (generation/params.py); `workers` tasks are enqueued:
    they share the job's chunks.
    """
    problems = params.problems()
    if problems:
        raise GenerationError(next(iter(problems.values())))
    if workers < 1:
        raise GenerationError("workers must be at least 1")
    spec = model_spec_resolve(model=model)
    if spec.source == ModelSpec.Source.EXTERNAL:
        raise GenerationError(
            f"model {spec.name!r} is external (responses made elsewhere): use import_outputs, not generate"
        )
    if not spec.is_served:
        _model_path(spec.path)
    target = generation_eval_set_resolve(eval_set=eval_set)
    total = target.prompts.count()
    if params.prompt_limit is not None:
        total = min(total, params.prompt_limit)
    if total == 0:
        raise GenerationError(f"evaluation set {target} has no prompts")

    with transaction.atomic():
        job = GenerationJob.objects.create(
            model=spec, eval_set=target, prompts_total=total, created_by=created_by, **params.job_fields()
        )
        chunks_create(chunks=job.chunks, total=total, chunk_size=params.chunk_size)
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
    return job_cancel(job=job)


def generation_job_retry(*, job: GenerationJob, enqueue: bool = True) -> GenerationJob:
    """Queue a failed, cancelled or stalled job again; finished prompts are kept and skipped."""
    if not chunked_job_retryable(job=job):
        raise GenerationError(
            f"job {job.pk} is {job.status}: only failed, cancelled or stalled jobs can be retried"
        )
    queue = generation_queue(job.model)
    return job_requeue(job=job, enqueue=(lambda: _enqueue(job.pk, queue=queue)) if enqueue else None)
