"""Blind side-by-side rating campaigns: campaigns, comparisons, leases and ratings.

A comparison names its two systems as A and B (A is the earlier system in the campaign's order,
or the baseline) and stores which of them is shown on the left (``system_on_left``). Raters only
ever see sides; ratings store both the side clicked (``side``) and the system it means (``choice``).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from analysis.quality_flags import REASON_MAX_CHARS
from analysis.stats.style import style_counts
from annotate.rater_tokens import item_token
from annotate.serving_models import COMPARISON_SERVING_INDEXES, RATING_BY_TIME_INDEX

# Order keys live in [0, ORDER_PRIME); each rater sees comparisons sorted by a rotation
# (key + b) mod ORDER_PRIME, its start b drawn afresh at each rating (annotate.rater_access).
ORDER_PRIME = 2_147_483_647

DEFAULT_INSTRUCTIONS = """\
You will see a prompt and two responses to it: side by side, or one above the other on a narrow screen. \
They were written by two different systems, shown in a random order. Choose the response you prefer.

- Judge correctness first: is what the response says true, and does it do what the prompt asks?
- Then judge informativeness: does it give the reader what they need, clearly and completely?
- Longer is not always better. A short answer that is right and to the point beats a long one \
that rambles, repeats itself or pads.
- Use "Tie" sparingly, only when you genuinely cannot prefer one response over the other.
- Use "Both bad" when neither response is acceptable: both are nonsensical, irrelevant, or do not \
respond to the prompt at all.
- Ignore which response comes first; the order is random.

Add a comment if something is worth telling the researchers (an error you spotted, a broken prompt).
"""


# The longest comment a rater may send with a rating; longer ones are refused (annotate.json_bodies).
COMMENT_MAX_CHARS = 5000

# Below this many seconds on an item the rating page does not take a choice (and the server flags it).
DEFAULT_MIN_SECONDS = 2.0


def new_order_key() -> int:
    return secrets.randbelow(ORDER_PRIME)


class Campaign(models.Model):
    class Rate(models.TextChoices):
        # MT-Bench's protocol (each turn, shown up to it) and the Arena's (once, after the last turn).
        PER_TURN = "per-turn", "Every turn"
        CONVERSATION = "conversation", "The whole conversation"

    class Pairing(models.TextChoices):
        ALL_PAIRS = "all_pairs", "All pairs"
        VS_BASELINE = "vs_baseline", "Each against the baseline"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        # A build job (annotate.build_jobs) is writing its comparisons: not served, cannot be opened.
        BUILDING = "building", "Building"
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
    rate = models.CharField(max_length=16, choices=Rate.choices, default=Rate.PER_TURN)
    ratings_per_comparison = models.PositiveIntegerField(default=1)
    overlap = models.FloatField(
        default=0.0, help_text="Fraction of comparisons that get at least 3 ratings, to measure agreement."
    )
    gold_fraction = models.FloatField(default=0.0, help_text="Share of served items that are gold checks.")
    lease_seconds = models.PositiveIntegerField(
        default=600, help_text="How long a served item stays reserved for its rater."
    )
    quota_per_rater = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most regular items one rater may rate (empty: no limit), so one fast rater cannot take it all.",
    )
    min_seconds = models.FloatField(
        default=DEFAULT_MIN_SECONDS,
        help_text="Minimum reading time per item in seconds (0 turns it off); faster ratings are flagged.",
    )
    # Stop when settled (issue 17): cells close, then the campaign, as anytime-valid intervals settle.
    stop_when_settled = models.BooleanField(
        default=False,
        help_text="Close a category x setting cell (and the campaign) once its anytime-valid interval "
        "excludes 0.5 or is narrower than the precision; serve raters from the open cells.",
    )
    precision = models.FloatField(
        null=True, blank=True, help_text="Interval width that counts as precise enough (empty: decide only)."
    )
    # The plan (analysis.stats.planning; alpha is the intervals' level too), a cap and an equivalence stop.
    min_effect = models.FloatField(default=0.6, help_text="Smallest preference rate worth detecting.")
    power = models.FloatField(default=0.8)
    alpha = models.FloatField(default=0.05)
    max_ratings = models.PositiveIntegerField(null=True, blank=True, help_text="Stop, not settled, here.")
    equivalence_margin = models.FloatField(null=True, blank=True, help_text="Settle inside 0.5 ± this.")
    settled_rule = models.CharField(max_length=32, blank=True, default="")
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_after = models.PositiveIntegerField(null=True, blank=True, help_text="Ratings when it settled.")
    # Part of the set (analysis.prompt_sample): N units drawn with the seed from these categories.
    sample_size = models.PositiveIntegerField(null=True, blank=True, help_text="Prompts drawn (empty: all).")
    sample_seed = models.BigIntegerField(null=True, blank=True)
    sample_categories = models.JSONField(default=list, blank=True, help_text="Only these (empty: all).")
    # Stop when settled with open cells out of items (annotate.settle_stall); null while not stalled.
    stalled_at = models.DateTimeField(null=True, blank=True)
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


def _unchecked_key(to: str, *, indexed: bool = True) -> Any:
    """An optional key the database does not check (why: Comparison); PROTECT guards it in Django."""
    return models.ForeignKey(
        to, models.PROTECT, null=True, blank=True, related_name="+", db_constraint=False, db_index=indexed
    )


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

    # Not indexed alone (issue 31): `comparison_campaign` (by id: a build appends) serves reads by
    # campaign; an index is a write more per row built and per `taken` moved. Nor are the systems.
    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="comparisons", db_index=False)
    order_key = models.BigIntegerField(default=new_order_key)
    # No database constraint on these five keys (issue 31): checking them cost a third of a million-
    # comparison build. The build reads every id it writes in its own transaction, and PROTECT still
    # refuses to delete a prompt, system or sample a comparison names (tests/annotate/test_build_keys.py).
    prompt = models.ForeignKey("eval_sets.Prompt", models.PROTECT, related_name="+", db_constraint=False)
    system_a = _unchecked_key("generation.ModelSpec", indexed=False)
    system_b = _unchecked_key("generation.ModelSpec", indexed=False)
    sample_a = _unchecked_key("generation.Sample")
    sample_b = _unchecked_key("generation.Sample")
    # Which system (A or B) the rater sees on the left; drawn, balanced, at build time.
    system_on_left = models.CharField(max_length=1, choices=Side.choices)
    # The user turn whose answers are rated (1 for a single-turn prompt); the earlier turns are
    # shown as context, from `texts.history_a` / `history_b`.
    turn = models.PositiveSmallIntegerField(default=1)
    needed = models.PositiveIntegerField(default=1)
    # Serving's counter (annotate.leases): ratings by raters not excluded plus the active leases of
    # raters who have not rated it, recounted under the row lock at every write that changes them,
    # so the search for an item with room reads a column instead of counting per item. A counted
    # lease may run out later; `lease_check_at` (the first end among them) says from when the
    # count may be too high and must be taken again.
    taken = models.PositiveIntegerField(default=0)
    lease_check_at = models.DateTimeField(null=True, blank=True)
    # NULL means "not a gold check", which reads more plainly in queries than an empty answer.
    gold_answer = models.CharField(max_length=8, choices=Answer.choices, null=True, blank=True)  # noqa: DJ001
    gold_uploaded = models.BooleanField(default=False)
    # Active labelling (judging.active): the probability this comparison was drawn for a human rating,
    # stored so the estimate can weight by it (NULL: the campaign serves uniformly). Serving offers the
    # drawn ones (label_rank 0) before the rest (1); every other comparison keeps 0.
    label_probability = models.FloatField(null=True, blank=True)
    label_rank = models.PositiveSmallIntegerField(default=0)
    # Stop-when-settled campaigns: the category x setting cell of the item's pair (annotate.settle_cells),
    # set once after the build; serving draws a cell's items from its own index and counts its room
    # in `SettleTally`. NULL elsewhere and for uploaded gold pairs. No database constraint: the cell
    # goes with its campaign, as the comparison does, in whatever order a delete takes them.
    cell = models.ForeignKey(
        "annotate.SequentialCell", null=True, blank=True, on_delete=models.DO_NOTHING,
        related_name="+", db_constraint=False,
    )  # fmt: skip

    class Meta:
        ordering = ["campaign", "id"]
        indexes = [
            models.Index(fields=["campaign", "id"], name="comparison_campaign"),
            *COMPARISON_SERVING_INDEXES,  # issue 31: serving's pool, gold checks, items that may reopen
        ]

    def __str__(self) -> str:
        return f"comparison {self.token}"

    @property
    def token(self) -> str:
        """The item's name, enciphered from its ids (annotate.rater_tokens); raters see theirs. "" unsaved."""
        return item_token(comparison_id=self.pk, campaign_id=self.campaign_id) if self.pk else ""

    @property
    def is_gold(self) -> bool:
        return self.gold_answer is not None

    def side_to_system(self, side: str) -> str:
        """Map a clicked side (left/right/tie/both_bad) to the stored choice (a/b/tie/both_bad)."""
        if side == "left":
            return self.system_on_left
        if side == "right":
            return "b" if self.system_on_left == "a" else "a"
        return side


class ComparisonTexts(models.Model):
    """A comparison's two responses, copied from its samples (or uploaded, for gold pairs).

    Their own table, read only for the item shown: serving scans a campaign's comparisons on every
    rating, and with the texts inline (about 4 KB a row for real answers) those scans read a page
    per two or three comparisons instead of a page per sixty.
    """

    comparison = models.OneToOneField(
        Comparison, on_delete=models.CASCADE, primary_key=True, related_name="texts"
    )
    text_a = models.TextField()
    text_b = models.TextField()
    # Each system's own answers to the turns before the rated one (empty for turn 1), in order.
    history_a = models.JSONField(default=list, blank=True)
    history_b = models.JSONField(default=list, blank=True)
    # Each answer's style counts (analysis.stats.style.style_counts: characters, Markdown headers, list
    # items, bold spans), counted once when the texts are written, so that a report of a million
    # ratings reads eight integers a row instead of the texts. Null: not counted yet (rows written
    # before migration 0014, by COPY at build, or by raw SQL); the report counts and stores those (comparison_texts_style_fill).
    style_a_length = models.PositiveIntegerField(null=True, blank=True)
    style_a_headers = models.PositiveIntegerField(null=True, blank=True)
    style_a_lists = models.PositiveIntegerField(null=True, blank=True)
    style_a_bold = models.PositiveIntegerField(null=True, blank=True)
    style_b_length = models.PositiveIntegerField(null=True, blank=True)
    style_b_headers = models.PositiveIntegerField(null=True, blank=True)
    style_b_lists = models.PositiveIntegerField(null=True, blank=True)
    style_b_bold = models.PositiveIntegerField(null=True, blank=True)

    STYLE_A = ("style_a_length", "style_a_headers", "style_a_lists", "style_a_bold")
    STYLE_B = ("style_b_length", "style_b_headers", "style_b_lists", "style_b_bold")

    def __str__(self) -> str:
        return f"texts of comparison {self.comparison_id}"

    def style_count(self) -> None:
        """Fill both answers' style counts from the texts (before the row is saved)."""
        for names, text in ((self.STYLE_A, self.text_a), (self.STYLE_B, self.text_b)):
            for name, value in zip(names, style_counts(text), strict=True):
                setattr(self, name, value)


class Lease(models.Model):
    """The item was served to the rater and is held for them until `leased_until` (annotate.leases).

    The row outlives the hold: it keeps when the rater skipped the item and their first answer.
    """

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="+", db_index=False)  # see 0023
    comparison = models.ForeignKey(Comparison, models.CASCADE, related_name="leases", db_index=False)  # 0024
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", db_index=False)
    served_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField()
    skipped = models.BooleanField(default=False)
    # The rater's first answer for the item (a/b/tie/both_bad), written when undo takes it back (until
    # then the rating is the first answer): gold checks are scored on it, so undo cannot be used to
    # answer a check again.
    first_choice = models.CharField(max_length=8, blank=True, default="")
    # When the rater last skipped it: skipped items come back least recently skipped first.
    skipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rater", "comparison"], name="lease_unique_per_rater"),
        ]
        indexes = [
            models.Index(fields=["comparison", "leased_until"], name="lease_comparison_until"),
            models.Index(fields=["campaign", "rater", "leased_until"], name="lease_rater_until"),
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
    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="ratings", db_index=False)  # 0023
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", db_index=False)
    choice = models.CharField(max_length=8, choices=Choice.choices, help_text="Names the system.")
    side = models.CharField(max_length=8, choices=Clicked.choices, help_text="What the rater clicked.")
    comment = models.TextField(blank=True)
    seconds = models.FloatField()
    too_fast = models.BooleanField(
        default=False, help_text="Given in less than the campaign's minimum reading time."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rater", "comparison"], name="rating_once_per_rater"),
        ]
        indexes = [
            models.Index(fields=["campaign", "rater", "created"], name="rating_campaign_rater"),  # 0023
            RATING_BY_TIME_INDEX,  # the campaign page's fingerprint and pace (annotate.serving_models)
            # The results browser's comment filter: the few commented ratings, not every rating (0016).
            models.Index(
                fields=["campaign", "comparison"], condition=~models.Q(comment=""), name="rating_commented"
            ),
        ]

    def __str__(self) -> str:
        return f"rating {self.pk}: {self.choice}"


class RaterExclusion(models.Model):
    """A researcher decided this rater's ratings in this campaign are not to be trusted."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exclusions")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=REASON_MAX_CHARS, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "rater"], name="exclusion_unique"),
        ]

    def __str__(self) -> str:
        return f"rater {self.rater_id} excluded from {self.campaign_id}"


# The build job's, recruiting's, the change log's, serving's and settling's models belong to this app; importing them
# here registers them.
from annotate.build_models import CampaignBuild  # noqa: E402, F401
from annotate.change_models import CampaignChange  # noqa: E402, F401
from annotate.recruiting_models import (  # noqa: E402, F401
    CampaignRecruiting,
    ConsentRecord,
    Enrollment,
    ExternalRater,
    Invite,
    PracticeAnswer,
    PracticeItem,
)
from annotate.serving_models import ServingTally  # noqa: E402, F401
from annotate.settling_models import CampaignSettling, SequentialCell, SettleTally  # noqa: E402, F401
