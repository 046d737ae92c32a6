"""Reads about campaigns: the rater-exclusion filter, progress against what is needed, the roster,
the compared pairs, and the numbers the quality flags are computed from (thresholds, too-fast counts,
exclusions).

Statistics over the ratings themselves (agreement, preference, per-rater figures, the flags) are not
here: they are analysis's, reached through the reports (`reports.campaign_stats`), so that a page and
a report cannot disagree.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from analysis.quality_flags import FlagThresholds
from analysis.settling import StopDesign
from annotate.models import Campaign, Comparison, Lease, RaterExclusion, Rating
from annotate.recruiting_models import CampaignRecruiting
from annotate.serving_models import BY_TIME
from generation.models import ModelSpec


def excluded_rater_ids(*, campaign: Campaign) -> list[int]:
    """The raters a researcher excluded from the campaign: left out of serving, counts and reports."""
    return list(RaterExclusion.objects.filter(campaign=campaign).values_list("rater_id", flat=True))


# The shortest span of ratings over which a campaign's pace per hour is shown.
RATE_MIN_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class CampaignProgress:
    comparisons: int
    needed: int
    done: int
    gold_items: int
    ratings_total: int
    ratings_last_hour: int
    ratings_per_hour: float | None
    median_seconds: float | None

    @property
    def rate_min_window_minutes(self) -> int:
        return int(RATE_MIN_WINDOW.total_seconds() // 60)

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.needed if self.needed else 0.0


@dataclass(frozen=True)
class ItemProgress:
    """Regular comparisons, the ratings they need and the ratings done towards that (none past its need)."""

    comparisons: int
    needed: int
    done: int


def campaign_item_progress(*, campaign: Campaign, excluded: list[int] | None = None) -> ItemProgress:
    """Ratings done against ratings needed over the regular comparisons; excluded raters do not count.

    Counted in the database: one pass over the campaign's comparisons (how many, what they need) and
    one over its counted ratings, grouped by item (done: each item's count up to its need), not a
    row per comparison read into Python (seconds at a million comparisons).
    """
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    regular = Comparison.objects.filter(campaign=campaign, gold_answer__isnull=True).order_by()
    sizes = regular.aggregate(
        comparisons=Count("pk"), needed=Coalesce(Sum("needed"), 0, output_field=IntegerField())
    )
    per_item = (
        Rating.objects.filter(comparison__campaign=campaign, comparison__gold_answer__isnull=True)
        .exclude(rater_id__in=excluded)
        .order_by()
        .values("comparison_id")
        .annotate(n=Count("pk"), need=Max("comparison__needed"))
    )
    done = per_item.aggregate(
        done=Coalesce(Sum(Least("n", "need", output_field=IntegerField())), 0, output_field=IntegerField())
    )["done"]
    return ItemProgress(comparisons=sizes["comparisons"], needed=sizes["needed"], done=done)


def _median_seconds(ratings: QuerySet[Rating], total: int) -> float | None:
    """statistics.median of the ratings' seconds, from the one or two middle values the database sorts."""
    if not total:
        return None
    middle = list(
        ratings.order_by("seconds").values_list("seconds", flat=True)[(total - 1) // 2 : total // 2 + 1]
    )
    return statistics.median(middle)


def campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    """Ratings done against ratings needed (excluded raters do not count), and the pace so far."""
    excluded = excluded_rater_ids(campaign=campaign)
    items = campaign_item_progress(campaign=campaign, excluded=excluded)
    ratings = Rating.objects.filter(campaign=campaign).exclude(rater_id__in=excluded)
    total = ratings.count()
    last_hour = campaign_ratings_last_hour(campaign=campaign, excluded=excluded)
    per_hour = None
    if total >= 2:
        by_time = ratings.filter(BY_TIME)  # read from rating_campaign_created (annotate.serving_models)
        first = by_time.order_by("created").values_list("created", flat=True).first()
        last = by_time.order_by("-created").values_list("created", flat=True).first()
        # A rate over a few seconds of ratings extrapolates to thousands an hour: say nothing until
        # the ratings span long enough to mean something.
        if first and last and last - first >= RATE_MIN_WINDOW:
            per_hour = total / ((last - first).total_seconds() / 3600)
    return CampaignProgress(
        comparisons=items.comparisons,
        needed=items.needed,
        done=items.done,
        gold_items=campaign.comparisons.filter(gold_answer__isnull=False).count(),
        ratings_total=total,
        ratings_last_hour=last_hour,
        ratings_per_hour=per_hour,
        median_seconds=_median_seconds(ratings, total),
    )


def _count_of(model: type[Comparison] | type[Rating]) -> Coalesce:
    rows = model.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    # COUNT(*), not COUNT(id): PostgreSQL then counts from the campaign index alone (an index-only
    # scan), without reading a million rows of the table for their ids.
    return Coalesce(Subquery(rows.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0)


def campaigns_with_counts() -> QuerySet[Campaign]:
    """Every campaign (its set selected) with `n_comparisons` and `n_ratings`, each counted on its own:
    counted over one join of both, every comparison of a campaign meets every rating of it."""
    return Campaign.objects.select_related("eval_set").annotate(
        n_comparisons=_count_of(Comparison), n_ratings=_count_of(Rating)
    )


def campaign_ratings_last_hour(*, campaign: Campaign, excluded: list[int] | None = None) -> int:
    """Ratings given in the last hour, excluded raters left out."""
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    since = timezone.now() - timedelta(hours=1)
    return Rating.objects.filter(campaign=campaign, created__gte=since).exclude(rater_id__in=excluded).count()


@dataclass(frozen=True)
class RosterEntry:
    """A rater of the campaign (in the pool, or who rated in it) and where they stand."""

    rater_id: int
    username: str
    in_pool: bool
    excluded: bool
    last_rating: datetime | None
    # Uploaded gold pairs compare no systems, so the reports never see them; they are counted here.
    uploaded_gold_total: int = 0
    uploaded_gold_correct: int = 0

    @property
    def uploaded_gold_accuracy(self) -> float | None:
        return self.uploaded_gold_correct / self.uploaded_gold_total if self.uploaded_gold_total else None


def campaign_roster(*, campaign: Campaign) -> list[RosterEntry]:
    """Everyone in the pool or with a rating in the campaign, by username."""
    excluded = set(excluded_rater_ids(campaign=campaign))
    pool = set(campaign.raters.values_list("pk", flat=True))
    last = dict(
        Rating.objects.filter(campaign=campaign)
        .values("rater_id")
        .annotate(last=Max("created"))
        .values_list("rater_id", "last")
    )
    # Scored on the first answer (kept through undo), as the reports score marked gold.
    uploaded = (
        Lease.objects.filter(
            campaign=campaign,
            comparison__gold_uploaded=True,
            comparison__ratings__rater_id=F("rater_id"),
        )
        .values("rater_id")
        .annotate(
            total=Count("pk"),
            # The first answer is kept on the lease once undo took it back; until then it is the rating.
            correct=Count(
                "pk",
                filter=Q(first_choice=F("comparison__gold_answer"))
                | Q(first_choice="", comparison__ratings__choice=F("comparison__gold_answer")),
            ),
        )
    )
    gold = {row["rater_id"]: (row["total"], row["correct"]) for row in uploaded}
    users = User.objects.filter(pk__in=pool | set(last)).order_by("username")
    return [
        RosterEntry(
            rater_id=user.pk,
            username=user.username,
            in_pool=user.pk in pool,
            excluded=user.pk in excluded,
            last_rating=last.get(user.pk),
            uploaded_gold_total=gold.get(user.pk, (0, 0))[0],
            uploaded_gold_correct=gold.get(user.pk, (0, 0))[1],
        )
        for user in users
    ]


def campaign_cell_shares(*, campaign: Campaign) -> dict[tuple[str, str], float]:
    """Each (category, setting) cell's share of the campaign's prompts (regular comparisons, any pair).

    What the overall sequential interval is weighted by, so adaptive serving cannot tilt it.
    """
    # Counted by the database, a row per cell: at a million comparisons, sending every distinct
    # (cell, prompt) to Python took seconds.
    rows = (
        campaign.comparisons.filter(gold_answer__isnull=True, system_a__isnull=False)
        .values_list("prompt__category", "prompt__setting")
        .annotate(prompts=Count("prompt_id", distinct=True))
        .order_by()
    )
    counts = {(category, setting): prompts for category, setting, prompts in rows}
    total = sum(counts.values())
    return {cell: n / total for cell, n in sorted(counts.items())} if total else {}


def campaign_pairs(*, campaign: Campaign) -> list[tuple[ModelSpec, ModelSpec]]:
    """The compared pairs of systems, each as (A, B) in the campaign's order (the baseline first)."""
    systems = [cs.model for cs in campaign.systems.select_related("model").order_by("position")]
    if campaign.pairing == Campaign.Pairing.VS_BASELINE:
        return [(systems[0], other) for other in systems[1:]]
    return [(systems[i], systems[j]) for i in range(len(systems)) for j in range(i + 1, len(systems))]


@dataclass(frozen=True)
class Exclusion:
    rater: str  # the username, as the report's ``raters`` block names raters
    reason: str
    excluded_at: datetime


def campaign_flag_thresholds(*, campaign: Campaign) -> FlagThresholds:
    """The campaign's minimum reading time and its gold threshold (the model's default without recruiting)."""
    recruiting = CampaignRecruiting.objects.filter(campaign=campaign).values_list(
        "gold_accuracy_min", flat=True
    )
    gold_min = recruiting.first()
    if gold_min is None:
        gold_min = CampaignRecruiting._meta.get_field("gold_accuracy_min").get_default()
    return FlagThresholds(min_seconds=float(campaign.min_seconds), gold_accuracy_min=float(gold_min))


def campaign_too_fast_counts(*, campaign: Campaign) -> dict[str, int]:
    """username -> ratings flagged too fast when given (every rater with a rating, 0 included)."""
    rows = (
        Rating.objects.filter(campaign=campaign)
        .values("rater__username")
        .annotate(fast=Count("pk", filter=Q(too_fast=True)))
        .values_list("rater__username", "fast")
    )
    return dict(rows)


def campaign_exclusions(*, campaign: Campaign) -> list[Exclusion]:
    """The raters excluded from the campaign, oldest exclusion first."""
    rows = (
        RaterExclusion.objects.filter(campaign=campaign)
        .order_by("created", "pk")
        .values_list("rater__username", "reason", "created")
    )
    return [Exclusion(rater=name, reason=reason, excluded_at=created) for name, reason, created in rows]


def campaign_skipped_unrated(*, campaign: Campaign) -> QuerySet[Comparison]:
    """The comparisons some rater skipped and nobody rated: which ones got rated then depended on what they hold."""
    skipped = Lease.objects.filter(campaign=campaign, skipped=True).values("comparison")
    return Comparison.objects.filter(campaign=campaign, pk__in=skipped).exclude(ratings__isnull=False)


def campaign_has_left_out_ratings(*, campaign: Campaign, usernames: Sequence[str] = ()) -> bool:
    """Whether some rating is left out of the counts: by an excluded rater, or by one of ``usernames``."""
    left_out = Rating.objects.filter(campaign=campaign, rater_id__in=excluded_rater_ids(campaign=campaign))
    names = [name for name in usernames if name]
    if names:
        left_out = left_out | Rating.objects.filter(campaign=campaign, rater__username__in=names)
    return left_out.exists()


def campaign_stop_design(*, campaign: Campaign) -> StopDesign:
    """The campaign's stopping rules and plan, as the pure block takes them."""
    return StopDesign(
        precision=campaign.precision,
        equivalence_margin=campaign.equivalence_margin,
        max_ratings=campaign.max_ratings,
        min_effect=campaign.min_effect,
        power=campaign.power,
        alpha=campaign.alpha,
    )
