"""Automatic judge runs over a campaign's comparisons and the verdicts they store.

A verdict is a probability distribution over (A better, tie, B better), A and B being the
comparison's systems. A model judge reads each comparison twice, A's answer first and B's first;
both orders' distributions are kept (in A/B terms) and the stored verdict is their mean, which
cancels the judge's position bias. Imported verdicts (made elsewhere) have only the mean.
"""

from __future__ import annotations

from django.db import models

from core.models import Chunk, Job


class JudgeRun(Job):
    noun = "judge run"
    retry_keeps = "stored verdicts"

    class Source(models.TextChoices):
        MODEL = "model", "A registered model, run here"
        IMPORT = "import", "Verdicts made elsewhere"

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="judge_runs")
    judge = models.ForeignKey(
        "generation.ModelSpec", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=200, help_text="The judge's name in reports.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MODEL)
    prompt_version = models.CharField(max_length=32, blank=True)
    max_answer_chars = models.PositiveIntegerField(default=3000)
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    chunk_size = models.PositiveIntegerField(default=16)
    engine = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"judge run #{self.pk} {self.name} on {self.campaign_id}"

    @property
    def offers_retry(self) -> bool:
        """An imported run has nothing to run again."""
        return self.source == self.Source.MODEL and super().offers_retry


class JudgeChunk(Chunk):
    """A slice of the run's comparisons (by primary key order) that one worker claims at a time."""

    job_field = "run"
    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="chunks")

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="judge_chunk_unique_index")]


class Verdict(models.Model):
    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="verdicts")
    comparison = models.ForeignKey("annotate.Comparison", on_delete=models.CASCADE, related_name="+")
    p_a = models.FloatField()
    p_tie = models.FloatField()
    p_b = models.FloatField()
    # A's answer shown first, then B's first; both in A/B terms. Null for imported verdicts.
    p_a_ab = models.FloatField(null=True, blank=True)
    p_tie_ab = models.FloatField(null=True, blank=True)
    p_b_ab = models.FloatField(null=True, blank=True)
    p_a_ba = models.FloatField(null=True, blank=True)
    p_tie_ba = models.FloatField(null=True, blank=True)
    p_b_ba = models.FloatField(null=True, blank=True)
    consistent = models.BooleanField(null=True, blank=True, help_text="Both orders name the same verdict.")

    class Meta:
        ordering = ["run", "comparison"]
        constraints = [
            models.UniqueConstraint(fields=["run", "comparison"], name="verdict_unique_per_run"),
        ]

    def __str__(self) -> str:
        return f"verdict of run {self.run_id} on {self.comparison_id}"


class JudgeChoice(models.Model):
    """The judge run a campaign's report uses, chosen by a researcher (without one: the newest finished run)."""

    campaign = models.OneToOneField(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="judge_choice"
    )
    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="+")
    chosen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} reports judge run {self.run_id}"
