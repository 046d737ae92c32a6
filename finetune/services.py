"""Finetune jobs, the web side's writes: create (validating everything first), enqueue, retry, cancel.

torch-free: the run itself, and the model it registers when it ends, are the worker's
(`finetune.runner`), which only the worker and `finetune --wait` import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from core.jobs import job_cancel, job_requeue
from core.models import JobStatus
from finetune import mixture as mixture_mod
from finetune.hyperparameters import finetune_hyperparameters_clean
from finetune.models import FinetuneJob
from generation.models import ModelSpec


def _base_model(base: ModelSpec | str) -> ModelSpec:
    if isinstance(base, ModelSpec):
        spec = base
    else:
        spec = ModelSpec.objects.filter(name=base).first()  # type: ignore[assignment]
        if spec is None:
            raise ValidationError(f"base model {base!r} is not registered (register_model first)")
    if spec.source == ModelSpec.Source.EXTERNAL or not spec.path:
        raise ValidationError(f"base model {spec.name!r} has no weights to finetune")
    looks_local = spec.path.startswith(("/", ".", "~")) or spec.source == ModelSpec.Source.FINETUNE
    if looks_local and not (Path(spec.path).expanduser() / "config.json").is_file():
        raise ValidationError(f"base model {spec.name!r}: no model at {spec.path}")
    return spec


@transaction.atomic
def finetune_job_create(
    *,
    base: ModelSpec | str,
    mixture_path: str | Path,
    name: str,
    hyperparameters: dict[str, Any] | None = None,
    created_by: User | None = None,
    enqueue: bool = True,
) -> FinetuneJob:
    """Validate the base model, the mixture and the hyperparameters, then create (and enqueue) a job."""
    name = name.strip()
    if not name:
        raise ValidationError("the new model needs a name")
    if ModelSpec.objects.filter(name=name).exists():
        raise ValidationError(f"a model named {name!r} already exists")
    if FinetuneJob.objects.filter(name=name, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        raise ValidationError(f"a finetune job for {name!r} is already queued or running")
    spec = _base_model(base)
    hp = finetune_hyperparameters_clean(hyperparameters or {})
    path = Path(mixture_path).expanduser().resolve()
    try:
        mix = mixture_mod.load_mixture(path)
        summary = mixture_mod.describe(mix)
    except mixture_mod.MixtureError as exc:
        raise ValidationError(str(exc)) from None
    job = FinetuneJob.objects.create(
        name=name,
        base_model=spec,
        mixture_path=str(path),
        hyperparameters={**hp, "mixture": summary},
        total_steps=hp["steps"],
        created_by=created_by,
    )
    job.output_dir = str(Path(settings.MODELS_DIR) / "finetune" / f"{job.pk}-{_slug(name)}")
    job.save(update_fields=["output_dir"])
    if enqueue:
        finetune_job_enqueue(job=job)
    return job


def _slug(name: str) -> str:
    from django.utils.text import slugify

    return slugify(name) or "model"


def finetune_job_enqueue(*, job: FinetuneJob) -> None:
    from finetune.tasks import finetune_run

    job_id = job.pk
    transaction.on_commit(lambda: finetune_run.delay(job_id))


def finetune_job_retry(*, job: FinetuneJob) -> FinetuneJob:
    """Queue a failed or cancelled job again; it resumes from its last checkpoint."""
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise ValidationError("only a failed or cancelled job can be retried")
    return job_requeue(job=job, enqueue=lambda: finetune_job_enqueue(job=job))


def finetune_job_cancel(*, job: FinetuneJob) -> FinetuneJob:
    """A queued job is cancelled at once; a running one stops at its next step (after a checkpoint)."""
    return job_cancel(job=job)
