"""A rater's progress in a campaign, with gold checks counted like any other item.

A rater must not be able to tell a check from a regular item by how the counter moves. So the
number left is the regular items still open to the rater (within their quota) plus the gold checks
they are still owed: `gold_fraction / (1 - gold_fraction)` of their regular items, rounded, at most
the checks there are. Rating either kind lowers "left" by one and raises "rated" by one; serving
draws a check with probability owed / left, so the checks spread evenly and the counter reaches 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate.adaptive import open_cells_only
from annotate.models import Assignment, Campaign, Comparison, Rating
from annotate.selectors import excluded_rater_ids

# How long a rater may take back their last rating; the rating page is told this number.
UNDO_SECONDS = 60


@dataclass(frozen=True)
class Progress:
    done: int
    remaining: int
    undo: bool = False
    # Everything left to this rater is an item they skipped: the page says so.
    only_skipped: bool = False
    # Server-side only (never sent to a rater): how `remaining` splits, used by serving.
    regular_left: int = 0
    gold_owed: int = 0

    @property
    def percent(self) -> float:
        total = self.done + self.remaining
        return 100.0 * self.done / total if total else 100.0


def gold_owed(*, gold_fraction: float, gold_done: int, gold_left: int, regular_total: int) -> int:
    """Checks still to serve to a rater whose regular items (rated + left to them) are `regular_total`."""
    if gold_fraction <= 0 or gold_fraction >= 1:
        return 0
    target = min(gold_done + gold_left, round(gold_fraction / (1 - gold_fraction) * regular_total))
    return max(0, target - gold_done)


def progress_from_counts(
    *,
    rated: int,
    rated_gold: int,
    regular_room: int,
    gold_left: int,
    unskipped_left: int,
    quota: int | None,
    gold_fraction: float,
    undo: bool = False,
) -> Progress:
    """The arithmetic of a rater's progress, from counts (pure: tested exhaustively)."""
    regular_done = rated - rated_gold
    regular_left = regular_room
    if quota is not None:
        regular_left = max(0, min(regular_left, quota - regular_done))
    owed = gold_owed(
        gold_fraction=gold_fraction,
        gold_done=rated_gold,
        gold_left=gold_left,
        regular_total=regular_done + regular_left,
    )
    remaining = regular_left + owed
    return Progress(
        done=rated,
        remaining=remaining,
        undo=undo,
        only_skipped=remaining > 0 and unskipped_left == 0,
        regular_left=regular_left,
        gold_owed=owed,
    )


def undo_open(rated_at: datetime | None, now: datetime) -> bool:
    """A rating may be taken back for UNDO_SECONDS after it was stored."""
    return rated_at is not None and (now - rated_at).total_seconds() <= UNDO_SECONDS


def with_counts(
    qs: QuerySet[Comparison], *, rater: User, excluded: list[int], now: datetime
) -> QuerySet[Comparison]:
    """Comparisons the rater has not rated, with ratings (not excluded) and others' active leases counted."""
    ratings = (
        Rating.objects.filter(comparison=OuterRef("pk"))
        .exclude(rater_id__in=excluded)
        .order_by()
        .values("comparison")
        .annotate(c=Count("pk"))
        .values("c")
    )
    leases = (
        Assignment.objects.filter(comparison=OuterRef("pk"), leased_until__gt=now, skipped=False)
        .exclude(rater=rater)
        .order_by()
        .values("comparison")
        .annotate(c=Count("pk"))
        .values("c")
    )
    return qs.exclude(Exists(Rating.objects.filter(comparison=OuterRef("pk"), rater=rater))).annotate(
        n_ratings=Coalesce(Subquery(ratings), 0),
        n_leases=Coalesce(Subquery(leases), 0),
    )


ROOM = Q(gold_answer__isnull=True, needed__gt=F("n_ratings") + F("n_leases"))


def rater_progress(
    *, campaign: Campaign, rater: User, now: datetime | None = None, excluded: list[int] | None = None
) -> Progress:
    """The rater's own progress: rated, still to do (gold included), whether undo is open. Two queries."""
    now = now or timezone.now()
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    mine = Rating.objects.filter(campaign=campaign, rater=rater).aggregate(
        n=Count("pk"),
        gold=Count("pk", filter=Q(comparison__gold_answer__isnull=False)),
        last=Max("created"),
    )
    skipped = Exists(
        Assignment.objects.filter(comparison=OuterRef("pk"), rater=rater, skipped_at__isnull=False)
    )
    gold = Q(gold_answer__isnull=False)
    counts = (
        with_counts(
            open_cells_only(Comparison.objects.filter(campaign=campaign), campaign=campaign),
            rater=rater,
            excluded=excluded,
            now=now,
        )
        .annotate(was_skipped=skipped)
        .aggregate(
            room=Count("pk", filter=ROOM),
            gold=Count("pk", filter=gold),
            unskipped=Count("pk", filter=(ROOM | gold) & Q(was_skipped=False)),
        )
    )
    return progress_from_counts(
        rated=mine["n"],
        rated_gold=mine["gold"],
        regular_room=counts["room"],
        gold_left=counts["gold"],
        unskipped_left=counts["unskipped"],
        quota=campaign.quota_per_rater,
        gold_fraction=campaign.gold_fraction,
        undo=undo_open(mine["last"], now),
    )
