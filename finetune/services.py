"""Finetune jobs: create (validating everything first), run (resuming), register the result.

torch-free at import: the training loop is imported inside `finetune_job_run`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.models import JobStatus
from finetune import mixture as mixture_mod
from finetune.models import FinetuneJob
from generation.models import ModelSpec

logger = logging.getLogger(__name__)

# Hyperparameters a job accepts, with their defaults and types (the TrainConfig subset users set).
HYPERPARAMETERS: dict[str, tuple[type, Any]] = {
    "steps": (int, 100),
    "batch_size": (int, 8),
    "seq_len": (int, 512),
    "lr": (float, 1e-4),
    "warmup": (int, 10),
    "grad_accum": (int, 1),
    "optimizer": (str, "adamw"),
    "eval_every": (int, 50),
    "save_every": (int, 100),
    "seed": (int, 0),
    "lora": (bool, False),
    "packing": (bool, True),
}


def finetune_hyperparameters_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, types coerced, ranges checked; ValidationError names the culprit."""
    unknown = set(values) - set(HYPERPARAMETERS)
    if unknown:
        raise ValidationError(f"unknown hyperparameter {sorted(unknown)[0]!r}")
    out: dict[str, Any] = {}
    for name, (kind, default) in HYPERPARAMETERS.items():
        value = values.get(name)
        if value is None:
            out[name] = default
            continue
        try:
            out[name] = kind(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{name}: expected {kind.__name__}, got {value!r}") from None
    for name in ("steps", "batch_size", "grad_accum", "eval_every", "save_every"):
        if out[name] < 1:
            raise ValidationError(f"{name} must be at least 1")
    if out["seq_len"] < 8:
        raise ValidationError("seq_len must be at least 8")
    if not out["lr"] > 0:
        raise ValidationError("lr must be positive")
    if out["warmup"] < 0:
        raise ValidationError("warmup must be >= 0")
    if out["optimizer"] not in ("adamw", "adafactor"):
        raise ValidationError(f"optimizer must be adamw or adafactor, not {out['optimizer']!r}")
    return out


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
    job.status = JobStatus.QUEUED
    job.error = ""
    job.cancel_requested = False
    job.finished = None
    job.save(update_fields=["status", "error", "cancel_requested", "finished"])
    finetune_job_enqueue(job=job)
    return job


def finetune_job_cancel(*, job: FinetuneJob) -> FinetuneJob:
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.finished = timezone.now()
        job.save(update_fields=["status", "finished"])
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
    return job


def train_config_for(job: FinetuneJob) -> dict[str, Any]:
    hp = {k: v for k, v in job.hyperparameters.items() if k in HYPERPARAMETERS}
    return {
        **hp,
        "base": job.base_model.path,
        "output_dir": job.output_dir,
        "mixture": job.mixture_path,
        "kind": job.base_model.kind or "",
    }


def finetune_job_run(*, job_id: int, progress: Callable[[dict[str, Any]], None] | None = None) -> FinetuneJob:
    """Train (resuming from the last checkpoint if any), then register the model at once.

    Failures are recorded on the job with their reason and re-raised.
    """
    job = FinetuneJob.objects.select_related("base_model").get(pk=job_id)
    if job.status == JobStatus.DONE:
        return job
    if job.status == JobStatus.CANCELLED:
        return job
    FinetuneJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started=job.started or timezone.now(), error="", heartbeat=timezone.now()
    )
    from finetune import train as train_mod  # torch lives here; only the worker pays for it

    class JobCallback(train_mod.TrainCallback):
        def on_start(self, info: dict[str, Any]) -> None:
            notes = "\n".join(info["notes"])
            FinetuneJob.objects.filter(pk=job_id).update(
                notes=notes,
                total_steps=info["total_steps"],
                step=info["start_step"],
                heartbeat=timezone.now(),
            )
            if progress:
                progress({"step": info["start_step"], "total_steps": info["total_steps"]})

        def on_log(self, metrics: dict[str, Any]) -> None:
            current = FinetuneJob.objects.get(pk=job_id)
            # A resumed run logs the replayed steps again: keep one entry per step.
            kept = [m for m in current.metrics if m.get("step", 0) < metrics["step"]]
            FinetuneJob.objects.filter(pk=job_id).update(
                metrics=[*kept, metrics], step=metrics["step"], heartbeat=timezone.now()
            )
            if progress:
                progress(metrics)

        def should_stop(self) -> bool:
            return bool(FinetuneJob.objects.filter(pk=job_id, cancel_requested=True).exists())

    config = train_mod.TrainConfig.from_dict(train_config_for(job))
    try:
        result = train_mod.train(config, callback=JobCallback())
    except train_mod.TrainingStopped as exc:
        FinetuneJob.objects.filter(pk=job_id).update(
            status=JobStatus.CANCELLED, error=str(exc), finished=timezone.now()
        )
        job.refresh_from_db()
        return job
    except Exception as exc:
        logger.exception("finetune job %s failed", job_id)
        FinetuneJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], finished=timezone.now()
        )
        raise
    return finetune_job_finish(job_id=job_id, kind=result.kind, output_dir=str(result.output_dir))


@transaction.atomic
def finetune_job_finish(*, job_id: int, kind: str, output_dir: str) -> FinetuneJob:
    """Register the trained model under the job's name and mark the job done."""
    job = FinetuneJob.objects.select_for_update().get(pk=job_id)
    spec, _ = ModelSpec.objects.update_or_create(
        name=job.name,
        defaults={
            "source": ModelSpec.Source.FINETUNE,
            "path": output_dir,
            "kind": kind,
            "chat_template": False,
            "description": f"Finetuned from {job.base_model.name} on {Path(job.mixture_path).name} (job {job.pk}).",
        },
    )
    job.output_model = spec
    job.status = JobStatus.DONE
    job.finished = timezone.now()
    job.step = job.total_steps
    job.save(update_fields=["output_model", "status", "finished", "step"])
    return job
