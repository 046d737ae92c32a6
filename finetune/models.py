"""Finetuning jobs. A finished job registers its output as a ModelSpec."""

from __future__ import annotations

from django.db import models

from core.models import Job


class FinetuneJob(Job):
    name = models.CharField(max_length=200, help_text="Name of the model this job registers.")
    base_model = models.ForeignKey(
        "generation.ModelSpec", on_delete=models.PROTECT, related_name="finetune_jobs"
    )
    mixture_path = models.CharField(max_length=500)
    hyperparameters = models.JSONField(default=dict)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=list, blank=True, help_text="One dict per logged step.")
    output_dir = models.CharField(max_length=500, blank=True)
    output_model = models.OneToOneField(
        "generation.ModelSpec",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="made_by_finetune",
    )
    notes = models.TextField(blank=True, help_text="What the job decided (packing mode, fallbacks).")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"finetune #{self.pk} {self.name}"
