"""Evaluation sets and their prompts. A version is immutable once stored."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Setting(models.TextChoices):
    ZERO_SHOT = "zero_shot", "Zero-shot"
    ZERO_SHOT_COT = "zero_shot_cot", "Zero-shot with chain-of-thought trigger"
    FEW_SHOT = "few_shot", "Few-shot"


class EvalSet(models.Model):
    """One version of a named set; `content_hash` identifies the version's content."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    source_format = models.CharField(max_length=32)
    source_file = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Name of the file this version was first imported from.",
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="evalset_name_version_unique"),
            models.UniqueConstraint(fields=["name", "content_hash"], name="evalset_name_hash_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def spec(self) -> str:
        """The `NAME@vN` form that `eval_set_resolve` reads back."""
        return f"{self.name}@v{self.version}"


class Prompt(models.Model):
    eval_set = models.ForeignKey(EvalSet, on_delete=models.PROTECT, related_name="prompts")
    uid = models.CharField(max_length=200, help_text="The id from the source file; unique within its set.")
    position = models.PositiveIntegerField(help_text="Order in the source file.")
    category = models.CharField(max_length=100)
    setting = models.CharField(max_length=16, choices=Setting.choices, default=Setting.ZERO_SHOT)
    text = models.TextField()
    variant_of = models.CharField(max_length=200, blank=True, default="")
    stop = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # A conversation's user messages (two or more; `text` is the first). Empty: a single-turn prompt.
    turns = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["eval_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["eval_set", "uid"], name="prompt_uid_unique_in_set"),
        ]

    def __str__(self) -> str:
        return f"{self.eval_set} / {self.uid}"

    @property
    def user_turns(self) -> list[str]:
        """The user's messages in order: the turns of a conversation, or the one prompt."""
        return list(self.turns) if self.turns else [self.text]

    @property
    def turn_count(self) -> int:
        return len(self.turns) if self.turns else 1
