"""The worker half of a finetune job: run the training loop for a job, record its progress, finish it
(register the trained model).

The one module of the job side that imports the training loop (and so torch): the Celery task
and `finetune --wait` import it inside their functions, so the web process stays torch-free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.models import JobStatus
from finetune import train as train_mod
from finetune.hyperparameters import train_config_values
from finetune.models import FinetuneJob
from generation.models import ModelSpec

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]


class JobCallback(train_mod.TrainCallback):
    """Writes a run's notes, steps and metrics into its FinetuneJob; a cancel request stops it."""

    def __init__(self, job_id: int, progress: Progress | None = None) -> None:
        self.job_id = job_id
        self.progress = progress

    def on_start(self, info: dict[str, Any]) -> None:
        FinetuneJob.objects.filter(pk=self.job_id).update(
            notes="\n".join(info["notes"]),
            total_steps=info["total_steps"],
            step=info["start_step"],
            heartbeat=timezone.now(),
        )
        if self.progress:
            self.progress({"step": info["start_step"], "total_steps": info["total_steps"]})

    def on_log(self, metrics: dict[str, Any]) -> None:
        current = FinetuneJob.objects.get(pk=self.job_id)
        # A resumed run logs the replayed steps again: keep one entry per step.
        kept = [m for m in current.metrics if m.get("step", 0) < metrics["step"]]
        FinetuneJob.objects.filter(pk=self.job_id).update(
            metrics=[*kept, metrics], step=metrics["step"], heartbeat=timezone.now()
        )
        if self.progress:
            self.progress(metrics)

    def should_stop(self) -> bool:
        return FinetuneJob.objects.filter(pk=self.job_id, cancel_requested=True).exists()


def train_config_for(job: FinetuneJob) -> train_mod.TrainConfig:
    return train_mod.TrainConfig.from_dict(
        {
            **train_config_values(job.hyperparameters),
            "base": job.base_model.path,
            "output_dir": job.output_dir,
            "mixture": job.mixture_path,
            "kind": job.base_model.kind or "",
        }
    )


def finetune_job_run(*, job_id: int, progress: Progress | None = None) -> FinetuneJob:
    """Train (resuming from the last checkpoint if any), then register the model at once.

    Failures are recorded on the job with their reason and re-raised.
    """
    job = FinetuneJob.objects.select_related("base_model").get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.CANCELLED):
        return job
    FinetuneJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started=job.started or timezone.now(), error="", heartbeat=timezone.now()
    )
    try:
        result = train_mod.train(train_config_for(job), callback=JobCallback(job_id, progress))
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
