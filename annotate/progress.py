"""A rater's progress in a campaign, with gold checks counted like any other item.

A rater must not be able to tell a check from a regular item by how the counter moves. So the
number left is the regular items still open to the rater (within their quota) plus the gold checks
they are still owed: `gold_fraction / (1 - gold_fraction)` of their regular items, rounded, at most
the checks there are. Rating either kind lowers "left" by one and raises "rated" by one; serving
draws a check with probability owed / left, so the checks spread evenly and the counter reaches 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate.models import Campaign, Comparison, Lease, Rating, ServingTally, SettleTally
from core.key_among import KeyAmong
from core.statements import Statement

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


def undo_since(now: datetime) -> datetime:
    """A rating may be taken back for UNDO_SECONDS after it was stored: if stored at or after this."""
    return now - timedelta(seconds=UNDO_SECONDS)


def undo_open(rated_at: datetime | None, now: datetime) -> bool:
    return rated_at is not None and rated_at >= undo_since(now)


def with_mine(qs: QuerySet[Comparison], *, rater: User) -> QuerySet[Comparison]:
    """Join each comparison to the rater's own rating and lease (at most one of each, so no fan-out).

    Joins, not a subquery per item: serving and progress run over a whole campaign on every rating.
    """
    return qs.annotate(
        my_rating=FilteredRelation("ratings", condition=Q(ratings__rater=rater)),
        my_lease=FilteredRelation("leases", condition=Q(leases__rater=rater)),
    )


# Over `with_mine` rows. Written as lookups, not negations: negating a condition on a LEFT JOIN
# would also match the rows the join left empty.
NOT_MINE = Q(my_rating__id__isnull=True)
MINE = Q(my_rating__id__isnull=False)


def held_now(now: datetime) -> Q:
    """The rater's running lease on an item they have not rated: the item they hold."""
    return Q(my_lease__leased_until__gt=now, my_lease__skipped=False) & NOT_MINE


def open_now(now: datetime) -> Q:
    """Comparisons that may have room by their counter (`annotate.leases`): a superset, checked under lock."""
    return Q(needed__gt=F("taken")) | Q(lease_check_at__lte=now)


def room(now: datetime) -> Q:
    """Regular items with room for the rater, over `with_mine` rows.

    An item the rater holds counts as room for them: its counter includes their own lease.
    """
    return Q(gold_answer__isnull=True) & NOT_MINE & (open_now(now) | held_now(now))


def fresh_to(rater: User, *, campaign: Campaign) -> Q:
    """Comparisons the rater has neither rated nor ever skipped, by subqueries instead of `with_mine`'s joins.

    Serving scans the campaign for these on nearly every rating; a join per row of the rater's own
    rows cost more than the scan itself.
    """
    rated = Rating.objects.filter(campaign=campaign, rater=rater).values("comparison_id")
    skipped = Lease.objects.filter(campaign=campaign, rater=rater, skipped_at__isnull=False)
    return ~Q(pk__in=rated) & ~Q(pk__in=skipped.values("comparison_id"))


def rater_progress(*, campaign: Campaign, rater: User, now: datetime | None = None) -> Progress:
    """The rater's own progress: rated, still to do (gold included), whether undo is open."""
    return progress_and_held(campaign=campaign, rater=rater, now=now)[0]


def _counts(*, now: datetime, since: datetime, own: bool) -> dict[str, Any]:
    """Over `with_mine` rows: the room left, the checks left, the held item; with `own`, the rater's counts."""
    gold = Q(gold_answer__isnull=False)
    gold_left = gold & NOT_MINE
    counts: dict[str, Any] = {
        "room": Count("pk", filter=room(now)),
        "gold": Count("pk", filter=gold_left),
        "unskipped": Count("pk", filter=(room(now) | gold_left) & Q(my_lease__skipped_at__isnull=True)),
        "held": Max(Case(When(held_now(now), then=F("pk")), output_field=IntegerField())),
    }
    if own:
        counts |= {
            "n": Count("pk", filter=MINE),
            "n_gold": Count("pk", filter=MINE & gold),
            "recent": Count("pk", filter=MINE & Q(my_rating__created__gte=since)),
        }
    return counts


def _count(qs: QuerySet[Any]) -> Coalesce:
    """The number of rows of `qs` (filtered on one campaign), as a scalar subquery."""
    return Coalesce(Subquery(qs.order_by().values("campaign").annotate(c=Count("pk")).values("c")), 0)


def _build_counted(values: Mapping[str, Any], *, cells: bool = False) -> Callable[[], object]:
    """The rater's progress figures from the campaign's counters and the rater's own rows, for `_COUNTED`.

    Equal to `_counts` over `with_mine` rows (a test holds them to it) without reading the campaign's
    comparisons: the campaign-wide part is `ServingTally` (regular items with room by `taken`, gold
    checks), the rater's part their own ratings and leases (indexed by campaign and rater), and the
    items whose counted leases may have run out come from the `comparison_may_open` index. So a
    rating costs the same in a campaign of a million comparisons as in one of a thousand.
    room = open - (mine among the open) + (may open, not mine) + (held by me, full, not may-open).

    With `cells` (a stop-when-settled campaign), the same over the open cells' regular items only, as
    `open_cells_only` leaves them: the room by counter is the open cells' `SettleTally`, and every
    other regular term keeps the items whose cell (`Comparison.cell`) is open. Gold checks have none.
    """
    campaign, rater, now = values["campaign"], values["rater"], values["now"]
    # Over comparisons (`here`) and over rows naming one (`there`): the item is in an open cell.
    here, there = (Q(cell__closed_rule=""), Q(comparison__cell__closed_rule="")) if cells else (Q(), Q())
    # The held item is shown again unless its cell closed meanwhile (a gold check has no cell).
    shown = (Q(comparison__gold_answer__isnull=False) | there) if cells else Q()
    mine = Rating.objects.filter(campaign_id=campaign, rater_id=rater)
    # Each part is read from the rater's own rows by index, never joined by a plan the statistics
    # choose: a campaign minutes old has stale ones, and PostgreSQL then joined the rater's rows to
    # the whole campaign, or re-scanned all its ratings once per lease (issue 31). `NOT IN` over the
    # rater's rated items is one hashed list; `KeyAmong` reads the rated items by key.
    my_items = mine.values("comparison_id")
    leases = Lease.objects.filter(campaign_id=campaign, rater_id=rater).exclude(comparison_id__in=my_items)
    held = Q(leased_until__gt=now, skipped=False)
    may_open = Q(comparison__lease_check_at__lte=now)
    tally = ServingTally.objects.filter(campaign_id=campaign).order_by().values("campaign")
    rated = Comparison.objects.filter(KeyAmong(my_items), campaign_id=campaign)
    if cells:
        open_cells = SettleTally.objects.filter(cell__campaign_id=campaign, cell__closed_rule="")
        open_sum = Subquery(
            open_cells.order_by().values("cell__campaign").annotate(s=Sum("open_items")).values("s")
        )
    else:
        open_sum = Subquery(tally.annotate(s=Sum("open_items")).values("s"))
    counts = {
        "open": Coalesce(open_sum, 0),
        "gold_all": Coalesce(Subquery(tally.annotate(s=Sum("gold_items")).values("s")), 0),
        "n": _count(mine),
        "n_gold": _count(rated.filter(gold_answer__isnull=False)),
        # Counted over the rater's own ratings: with `created` in the WHERE clause, the prepared
        # statement's generic plan read the campaign's ratings since then (`rating_campaign_created`)
        # and filtered them by rater, a cost that grew with everyone's pace (issue 31).
        "recent": Coalesce(
            Subquery(
                mine.order_by()
                .values("campaign")
                .annotate(c=Count("pk", filter=Q(created__gte=values["since"])))
                .values("c")
            ),
            0,
        ),
        "rated_open": _count(rated.filter(here, gold_answer__isnull=True, taken__lt=F("needed"))),
        "may_open": _count(
            Comparison.objects.filter(
                here,
                campaign_id=campaign,
                lease_check_at__isnull=False,
                taken__gte=F("needed"),
                lease_check_at__lte=now,
                gold_answer__isnull=True,
            ).exclude(pk__in=my_items)
        ),
        "held_full": _count(
            leases.filter(
                held,
                there,
                comparison__gold_answer__isnull=True,
                comparison__taken__gte=F("comparison__needed"),
            ).exclude(may_open)
        ),
        "skipped_left": _count(
            leases.filter(skipped_at__isnull=False).filter(
                Q(comparison__gold_answer__isnull=False)
                | (there & (Q(comparison__taken__lt=F("comparison__needed")) | may_open | held))
            )
        ),
        "held": Subquery(
            leases.filter(held, shown)
            .order_by()
            .values("campaign")
            .annotate(m=Max("comparison_id"))
            .values("m")
        ),
    }
    rows = Campaign.objects.filter(pk=campaign).annotate(**counts).values(*counts)
    return lambda: rows.first()


# It runs on every rating: compiled once per process (core.statements), not at every call; one for
# campaigns that stop when settled (`cells`), one for the rest. On its generic plan: PostgreSQL
# judged each rater's and time's own plan cheaper and planned it at every rating, which took 0.7 ms
# of the database's time against 0.14 ms to run it (6,600 comparisons; bench/rating_load.py).
_COUNTED = {
    cells: Statement(
        partial(_build_counted, cells=cells),
        ints=("campaign", "rater"),
        datetimes=("now", "since"),
        generic_plan=True,
    )
    for cells in (False, True)
}


def counted_figures(*, campaign: Campaign, rater: User, now: datetime, since: datetime) -> dict[str, Any]:
    """The figures `_counts(own=True)` gives over `with_mine` rows, from the counters (`_COUNTED`).

    A stop-when-settled campaign's room is its open cells' (`_build_counted`), as `open_cells_only` has it.
    """
    cells = bool(campaign.stop_when_settled)
    row = _COUNTED[cells].row(("counted", cells), campaign=campaign.pk, rater=rater.pk, now=now, since=since)
    # PostgreSQL sums bigints as numeric, which reaches Python as Decimal: the figures are whole numbers.
    # Every figure but the held item is a count (never NULL: each is coalesced to 0).
    got = {name: int(value) for name, value in row.items() if name != "held"}
    room = got["open"] - got["rated_open"] + got["may_open"] + got["held_full"]
    gold = got["gold_all"] - got["n_gold"]
    return {
        "room": room, "gold": gold, "unskipped": room + gold - got["skipped_left"], "held": row["held"],
        "n": got["n"], "n_gold": got["n_gold"], "recent": got["recent"],
    }  # fmt: skip


def progress_and_held(
    *, campaign: Campaign, rater: User, now: datetime | None = None
) -> tuple[Progress, int | None]:
    """The rater's progress and the comparison they hold now (an active lease not yet rated), if any.

    One statement over the campaign's counters and the rater's own rows (`counted_figures`): it runs
    on every rating, so the rater's counts, the room left and the held item come from it, whatever
    the campaign's size. Stop-when-settled campaigns count room over open cells only, as
    ``open_cells_only`` decides, from their cells' counters, while the rater's own counts span every cell.
    """
    now = now or timezone.now()
    since = undo_since(now)
    got = counted_figures(campaign=campaign, rater=rater, now=now, since=since)
    progress = progress_from_counts(
        rated=got["n"],
        rated_gold=got["n_gold"],
        regular_room=got["room"],
        gold_left=got["gold"],
        unskipped_left=got["unskipped"],
        quota=campaign.quota_per_rater,
        gold_fraction=campaign.gold_fraction,
        undo=got["recent"] > 0,
    )
    return progress, got["held"]
