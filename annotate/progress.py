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
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
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


def _counted(
    qs: QuerySet[Comparison], *, rater: User, excluded: list[int], now: datetime
) -> QuerySet[Comparison]:
    """Comparisons with ratings (not excluded), others' active leases and the rater's own rating time."""
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
    my_rated = Rating.objects.filter(comparison=OuterRef("pk"), rater=rater).values("created")[:1]
    return qs.annotate(
        n_ratings=Coalesce(Subquery(ratings), 0),
        n_leases=Coalesce(Subquery(leases), 0),
        my_rated=Subquery(my_rated),
    )


def with_counts(
    qs: QuerySet[Comparison], *, rater: User, excluded: list[int], now: datetime
) -> QuerySet[Comparison]:
    """Comparisons the rater has not rated, with ratings (not excluded) and others' active leases counted."""
    # By Q: the stubs plugin cannot see an annotation made in another function.
    return _counted(qs, rater=rater, excluded=excluded, now=now).filter(Q(my_rated__isnull=True))


ROOM = Q(gold_answer__isnull=True, needed__gt=F("n_ratings") + F("n_leases"))


def rater_progress(
    *, campaign: Campaign, rater: User, now: datetime | None = None, excluded: list[int] | None = None
) -> Progress:
    """The rater's own progress: rated, still to do (gold included), whether undo is open."""
    return progress_and_held(campaign=campaign, rater=rater, now=now, excluded=excluded)[0]


def progress_and_held(
    *, campaign: Campaign, rater: User, now: datetime | None = None, excluded: list[int] | None = None
) -> tuple[Progress, int | None]:
    """The rater's progress and the comparison they hold now (an active lease not yet rated), if any.

    One pass over the campaign's comparisons, joined to the rater's own lease row: it runs on every
    rating, so the rater's counts, the room left and the held item come from the same statement.
    Stop-when-settled campaigns count room over open cells only, which ``open_cells_only`` decides,
    while the rater's own counts span every cell: they take a second statement.
    """
    now = now or timezone.now()
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    split = campaign.stop_when_settled
    return _progress_and_held_orm(campaign=campaign, rater=rater, now=now, excluded=excluded, split=split)


def _progress_and_held_orm(
    *, campaign: Campaign, rater: User, now: datetime, excluded: list[int], split: bool
) -> tuple[Progress, int | None]:
    """The counts in one statement (two for stop-when-settled campaigns, see progress_and_held)."""
    gold = Q(gold_answer__isnull=False)
    mine = Q(my_rated__isnull=False)
    held_now = Q(mine_lease__leased_until__gt=now, mine_lease__skipped=False) & ~mine
    figures: dict[str, Any] = {}
    if split:
        figures = Rating.objects.filter(campaign=campaign, rater=rater).aggregate(
            n=Count("pk"),
            gold=Count("pk", filter=Q(comparison__gold_answer__isnull=False)),
            last=Max("created"),
        )
    base = open_cells_only(Comparison.objects.filter(campaign=campaign), campaign=campaign)
    rows = _counted(base, rater=rater, excluded=excluded, now=now).annotate(
        mine_lease=FilteredRelation("assignments", condition=Q(assignments__rater=rater))
    )
    room = ROOM & ~mine
    counts = {
        "room": Count("pk", filter=room),
        "gold": Count("pk", filter=gold & ~mine),
        "unskipped": Count("pk", filter=(room | (gold & ~mine)) & Q(mine_lease__skipped_at__isnull=True)),
        "held": Max(Case(When(held_now, then=F("pk")), output_field=IntegerField())),
    }
    if not split:
        counts |= {
            "n": Count("pk", filter=mine),
            "n_gold": Count("pk", filter=mine & gold),
            "last": Max("my_rated"),
        }
    got = rows.aggregate(**counts)
    if not split:
        figures = {"n": got["n"], "gold": got["n_gold"], "last": got["last"]}
    progress = progress_from_counts(
        rated=figures["n"],
        rated_gold=figures["gold"],
        regular_room=got["room"],
        gold_left=got["gold"],
        unskipped_left=got["unskipped"],
        quota=campaign.quota_per_rater,
        gold_fraction=campaign.gold_fraction,
        undo=undo_open(figures["last"], now),
    )
    return progress, got["held"]
