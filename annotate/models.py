"""Blind side-by-side rating campaigns: campaigns, comparisons, leases and ratings.

A comparison names its two systems as A and B (A is the earlier system in the campaign's order,
or the baseline) and stores which of them is shown on the left. Raters only ever see sides;
ratings store both the side clicked and the system it means.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# Order keys live in [0, ORDER_PRIME); each rater sees comparisons sorted by an affine permutation
# (key * a + b) mod ORDER_PRIME of their own, which keeps products inside a signed 64-bit integer.
ORDER_PRIME = 2_147_483_647

DEFAULT_INSTRUCTIONS = """\
You will see a prompt and two responses to it, one on the left and one on the right. \
They were written by two different systems, shown in a random order. Choose the response you prefer.

- Judge correctness first: is what the response says true, and does it do what the prompt asks?
- Then judge informativeness: does it give the reader what they need, clearly and completely?
- Longer is not always better. A short answer that is right and to the point beats a long one \
that rambles, repeats itself or pads.
- Use "Tie" sparingly, only when you genuinely cannot prefer one response over the other.
- Use "Both bad" when neither response is acceptable: both are nonsensical, irrelevant, or do not \
respond to the prompt at all.
- Ignore which side a response is on; the sides are random.

Add a comment if something is worth telling the researchers (an error you spotted, a broken prompt).
"""


def new_token() -> str:
    return secrets.token_urlsafe(16)


def new_order_key() -> int:
    return secrets.randbelow(ORDER_PRIME)


class Campaign(models.Model):
    class Pairing(models.TextChoices):
        ALL_PAIRS = "all_pairs", "All pairs"
        VS_BASELINE = "vs_baseline", "Each against the baseline"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200, unique=True)
    title = models.CharField(
        max_length=200,
        blank=True,
        help_text="What raters see as the campaign's name; the real name may name systems, so it is never shown to them.",
    )
    eval_set = models.ForeignKey("eval_sets.EvalSet", on_delete=models.PROTECT, related_name="campaigns")
    pairing = models.CharField(max_length=16, choices=Pairing.choices, default=Pairing.ALL_PAIRS)
    ratings_per_comparison = models.PositiveIntegerField(default=1)
    overlap = models.FloatField(
        default=0.0, help_text="Fraction of comparisons that get at least 3 ratings, to measure agreement."
    )
    gold_fraction = models.FloatField(default=0.0, help_text="Share of served items that are gold checks.")
    lease_seconds = models.PositiveIntegerField(
        default=600, help_text="How long a served item stays reserved for its rater."
    )
    instructions = models.TextField(default=DEFAULT_INSTRUCTIONS)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    raters = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="rating_campaigns")
    built = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name

    @property
    def public_title(self) -> str:
        return self.title or f"Rating task {self.pk}"

    def system_names(self) -> list[str]:
        """System names in the order given at creation; the first is the default baseline."""
        return list(self.systems.order_by("position").values_list("model__name", flat=True))


class CampaignSystem(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="systems")
    model = models.ForeignKey("generation.ModelSpec", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "model"], name="campaign_system_unique"),
            models.UniqueConstraint(fields=["campaign", "position"], name="campaign_system_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.position}"


class Comparison(models.Model):
    """One prompt, two responses. Uploaded gold pairs have texts but no systems or samples."""

    class Side(models.TextChoices):
        A = "a", "A"
        B = "b", "B"

    class Answer(models.TextChoices):
        A = "a", "A is better"
        B = "b", "B is better"
        TIE = "tie", "Tie"
        BOTH_BAD = "both_bad", "Both bad"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="comparisons")
    # The only identifier a rater ever sees: random, unrelated to the pk or the systems.
    token = models.CharField(max_length=32, unique=True, default=new_token)
    order_key = models.BigIntegerField(default=new_order_key)
    prompt = models.ForeignKey("eval_sets.Prompt", on_delete=models.PROTECT, related_name="+")
    system_a = models.ForeignKey(
        "generation.ModelSpec", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    system_b = models.ForeignKey(
        "generation.ModelSpec", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sample_a = models.ForeignKey(
        "generation.Sample", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sample_b = models.ForeignKey(
        "generation.Sample", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Copied from the samples so serving an item reads one row.
    text_a = models.TextField()
    text_b = models.TextField()
    left = models.CharField(max_length=1, choices=Side.choices)
    needed = models.PositiveIntegerField(default=1)
    # NULL means "not a gold check", which reads more plainly in queries than an empty answer.
    gold_answer = models.CharField(max_length=8, choices=Answer.choices, null=True, blank=True)  # noqa: DJ001
    gold_uploaded = models.BooleanField(default=False)

    class Meta:
        ordering = ["campaign", "id"]
        indexes = [models.Index(fields=["campaign", "order_key"], name="comparison_campaign_order")]

    def __str__(self) -> str:
        return f"comparison {self.token}"

    @property
    def is_gold(self) -> bool:
        return self.gold_answer is not None

    def side_to_system(self, side: str) -> str:
        """Map a clicked side (left/right/tie/both_bad) to the stored choice (a/b/tie/both_bad)."""
        if side == "left":
            return self.left
        if side == "right":
            return "b" if self.left == "a" else "a"
        return side


class Assignment(models.Model):
    """A lease: the item was served to the rater and is held for them until `leased_until`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="assignments")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    served_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField()
    skipped = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rater", "comparison"], name="assignment_unique_per_rater"),
        ]
        indexes = [
            models.Index(fields=["comparison", "leased_until"], name="assignment_comparison_lease"),
            models.Index(fields=["campaign", "rater", "leased_until"], name="assignment_rater_lease"),
        ]

    def __str__(self) -> str:
        return f"lease of {self.comparison_id} to {self.rater_id} until {self.leased_until:%H:%M:%S}"


class Rating(models.Model):
    class Choice(models.TextChoices):
        A = "a", "System A"
        B = "b", "System B"
        TIE = "tie", "Tie"
        BOTH_BAD = "both_bad", "Both bad"

    class Clicked(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        TIE = "tie", "Tie"
        BOTH_BAD = "both_bad", "Both bad"

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="ratings")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="ratings")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=8, choices=Choice.choices, help_text="Names the system.")
    side = models.CharField(max_length=8, choices=Clicked.choices, help_text="What the rater clicked.")
    comment = models.TextField(blank=True)
    seconds = models.FloatField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rater", "comparison"], name="rating_once_per_rater"),
        ]
        indexes = [models.Index(fields=["campaign", "rater", "created"], name="rating_campaign_rater")]

    def __str__(self) -> str:
        return f"rating {self.pk}: {self.choice}"


class RaterExclusion(models.Model):
    """A researcher decided this rater's ratings in this campaign are not to be trusted."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exclusions")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "rater"], name="exclusion_unique"),
        ]

    def __str__(self) -> str:
        return f"rater {self.rater_id} excluded from {self.campaign_id}"
