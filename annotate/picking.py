"""Finding the rater's next item: the order items are offered in, and locking the first with room.

`annotate.assignment` decides which pool to look in (a gold check or a regular item, fresh or
skipped) and leases what this finds; the invariant it keeps is stated there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BigIntegerField, ExpressionWrapper, F, Q, QuerySet

from annotate.adaptive import adaptive_rank, cell_groups
from annotate.leases import has_room, lease_renew, lease_take, taken_exact, taken_refresh
from annotate.models import ORDER_PRIME, Campaign, Comparison
from annotate.progress import NOT_MINE, fresh_to, open_now, room, with_mine
from annotate.rater_access import rater_order
from annotate.rater_payload import served_rows
from core.key_among import KeyAmong
from core.statements import QueryStatement

_LOCK_RETRIES = 8
# Candidates read per walked part. The parts are each in the rater's order, so the first row of one
# of them is the item; more only stand in for rows other raters hold locked meanwhile (rare: each
# rater walks from a start of their own), and the whole pool is the fallback. Each candidate costs its
# row, answers and prompt read through the lock: at a million comparisons those are cold pages, and
# 32 candidates made the pick 7.3 ms against 2.3 at ten thousand (1.4 ms with 4; pg_stat_statements).
_SHORTLIST = 4


def item_candidates(
    qs: QuerySet[Comparison],
    *,
    campaign: Campaign,
    rater: User,
    fresh: bool = False,
    order: tuple[Any, Any] | None = None,
    adaptive: bool = True,
) -> QuerySet[Comparison]:
    """The order in which `qs` (rows of `with_mine`) is offered to the rater: the one place that decides it.

    Items the rater never skipped come first, in the rater's own order of the campaign (a rotation
    drawn at each rating; under active labelling, the drawn ones before the rest, each in that order); then
    skipped ones, least recently skipped first (so skipping cycles through them instead of
    returning the same item forever). Adaptive serving extends this ordering. `fresh` says that
    `qs` holds no item the rater skipped (`fresh_to`), and is not joined to the rater's rows.
    `order` is the rater's (a, b) (`rater_order`), passed where it is a statement's parameter.
    `adaptive` False: `qs` holds one group of cells the caller drew already (`cell_groups`).
    """
    a, b = order or rater_order(campaign=campaign, rater=rater)
    key = ExpressionWrapper((F("order_key") * a + b) % ORDER_PRIME, output_field=BigIntegerField())
    # Stop-when-settled campaigns: the drawn widest-interval cell first (annotate.adaptive). Ordered by
    # F() since the stubs plugin cannot see an annotation made in another function.
    if adaptive:
        qs = adaptive_rank(qs, campaign=campaign)
    drawn_cell_first = [F("cell_rank").asc()] if "cell_rank" in qs.query.annotations else []
    skipped_last = [] if fresh else [F("my_lease__skipped_at").asc(nulls_first=True)]
    # Active labelling (judging.active): comparisons drawn for a human (label_rank 0) before the rest
    # (1); a column every other campaign holds at 0, so it changes no one else's order.
    return qs.annotate(rater_key=key).order_by(
        *skipped_last, *drawn_cell_first, "label_rank", "rater_key", "pk"
    )


def item_pick(
    base: QuerySet[Comparison],
    *,
    gold: bool,
    fresh_first: bool,
    campaign: Campaign,
    rater: User,
    excluded: list[int],
    now: datetime,
    recount: list[int],
    step: int = 0,
) -> Comparison | None:
    """Lock and lease the first gold check (or regular item with room) of `base` in the rater's order.

    `step` (the ratings the rater has given) picks the rater's order now (`rater_order`).

    With `fresh_first`, the items the rater never skipped are looked among first, without joins
    to the rater's rows: they come first in the rater's order and nearly always hold the item.
    `recount` are comparisons this transaction changed whose counters are to be taken again: they
    are recounted with the leased one, in one statement.
    """
    tried: list[int] = []
    order = rater_order(campaign=campaign, rater=rater, step=step)
    pools = _pools(
        base, gold=gold, fresh_first=fresh_first, campaign=campaign, rater=rater, now=now, order=order
    )
    for pool in pools:
        picked = _lock_with_room(pool, tried=tried, excluded=excluded, now=now, recount=recount)
        if picked is not None:
            if recount:  # the rare case: recount every row this transaction changed, with this one
                lease_renew(campaign=campaign, comparison_id=picked.pk, rater=rater, now=now)
                taken_refresh(comparison_ids={*recount, picked.pk}, excluded=excluded, now=now)
                recount.clear()
            else:
                lease_take(campaign=campaign, comparison_id=picked.pk, rater=rater, now=now)
            return picked
    return None


@dataclass
class _Pool:
    """Where to look, built only when looked in: (ordered, outer) for `_lock_with_room`.

    `compiled`, when given, runs the first short-list lock without building either.
    """

    build: Callable[[], tuple[QuerySet[Comparison], QuerySet[Comparison] | None]]
    compiled: Callable[[], Comparison | None] | None = None
    # Where the rater's rotation wraps (`_shortlist_lock`); None: sort the pool instead.
    split: int | None = None
    # The cells whose indexes are walked from `split`, one by one (`_shortlist_lock`); None: the campaign's pool.
    cells: list[int] | None = None

    @cached_property
    def built(self) -> tuple[QuerySet[Comparison], QuerySet[Comparison] | None]:
        return self.build()


def _fresh(
    base: QuerySet[Comparison],
    *,
    gold: bool,
    campaign: Campaign,
    rater: User,
    now: datetime | None,
    order: Any = None,
) -> tuple[QuerySet[Comparison], QuerySet[Comparison]]:
    """The rater's fresh pool of one kind, and the room condition it is locked through (see _lock_with_room).

    `now` decides a regular item's room; a check has none to decide.
    """
    if gold:
        wanted = Q(gold_answer__isnull=False)
    else:
        assert now is not None
        wanted = Q(gold_answer__isnull=True) & open_now(now)
    fresh = base.filter(fresh_to(rater, campaign=campaign), wanted)
    outer = Comparison.objects.filter(wanted)
    candidates = {"campaign": campaign, "rater": rater, "fresh": True, "order": order}
    return item_candidates(fresh, **candidates), item_candidates(outer, **candidates)


def _pool(
    base: QuerySet[Comparison], *, campaign: Campaign, rater: User, order: Any, cells: list[int] | None = None
) -> tuple[QuerySet[Comparison], QuerySet[Comparison]]:
    """The rater's fresh regular items with room by their counter: what the `comparison_pool` index holds.

    Items full by their counter whose counted leases may have run out are not in it: they are
    looked for (`_fresh`) only when this pool has nothing for the rater. With `cells` (a group of a
    stop-when-settled campaign's open cells, `cell_groups`), those cells' items: `comparison_cell_pool`.
    """
    wanted = Q(gold_answer__isnull=True, taken__lt=F("needed"))
    if cells is not None:
        wanted &= Q(cell_id__in=cells)
    fresh = base.filter(fresh_to(rater, campaign=campaign), wanted)
    candidates = {
        "campaign": campaign,
        "rater": rater,
        "fresh": True,
        "order": order,
        "adaptive": cells is None,
    }
    return item_candidates(fresh, **candidates), item_candidates(
        Comparison.objects.filter(wanted), **candidates
    )


def _build_fresh_lock(values: Mapping[str, Any], *, gold: bool) -> QuerySet[Comparison]:
    # A campaign that does not stop when settled, as the compiled path is taken for those only.
    campaign = Campaign(pk=values["campaign"], stop_when_settled=False)
    rows, rater = Comparison.objects.filter(campaign=campaign), User(pk=values["rater"])
    order = (1, values["b"])
    if gold:
        return _shortlist_lock(
            *_fresh(rows, gold=True, campaign=campaign, rater=rater, now=None, order=order)
        )
    return _shortlist_lock(*_pool(rows, campaign=campaign, rater=rater, order=order), split=values["split"])


# The first look on nearly every rating: compiled once per process (core.statements).
_FRESH_LOCK = {
    gold: QueryStatement(
        partial(_build_fresh_lock, gold=gold),
        ints=("campaign", "rater", "b") if gold else ("campaign", "rater", "b", "split"),
    )
    for gold in (False, True)
}


def _pools(
    base: QuerySet[Comparison],
    *,
    gold: bool,
    fresh_first: bool,
    campaign: Campaign,
    rater: User,
    now: datetime,
    order: tuple[int, int],
) -> Iterator[_Pool]:
    """The pools to look in, in turn, each built only if the one before had nothing.

    A campaign that does not stop when settled looks first in the pool of fresh regular items with
    room (`_pool`), walked from the rater's start along its index, which costs the same whatever
    the campaign's size; only when that has nothing for the rater are the other pools searched.
    One that does, once its cells are drawn, walks the open cells' indexes the same way, group by
    group; before its first refresh no cell is closed and it is served as the others are.
    """
    fresh = partial(_fresh, base, gold=gold, campaign=campaign, rater=rater, now=now, order=order)
    settled = campaign.stop_when_settled
    groups = cell_groups(campaign=campaign) if fresh_first and settled and not gold else None
    if groups is not None:
        # Stop-when-settled, once cells are drawn: the drawn cell's items first, then the other groups
        # (`cell_groups`), each walked along its cells' indexes like the pool below.
        # The drawn cells are open: their rows need no test of their cell against the closed ones.
        split, rows = ORDER_PRIME - order[1], Comparison.objects.filter(campaign=campaign)
        for cells in groups:
            built = partial(_pool, rows, campaign=campaign, rater=rater, order=order, cells=cells)
            yield _Pool(built, split=split, cells=cells)
        yield _Pool(fresh)  # items whose counted leases may have run out
    elif fresh_first and not (settled and gold):  # (settled, before its first refresh: no cell is closed)
        values: dict[str, Any] = {"campaign": campaign.pk, "rater": rater.pk, "b": order[1]}
        if gold:
            yield _Pool(fresh, partial(_FRESH_LOCK[True].first, "fresh", **values))
        else:
            split = ORDER_PRIME - order[1]
            compiled = partial(_FRESH_LOCK[False].first, "pool", **values, split=split)
            yield _Pool(partial(_pool, base, campaign=campaign, rater=rater, order=order), compiled, split)
            yield _Pool(fresh)  # items whose counted leases may have run out
    elif fresh_first:
        yield _Pool(fresh)

    def whole() -> tuple[QuerySet[Comparison], None]:
        mine = with_mine(base, rater=rater)
        rows = mine.filter(NOT_MINE, gold_answer__isnull=False) if gold else mine.filter(room(now))
        return item_candidates(rows, campaign=campaign, rater=rater, order=order), None

    yield _Pool(whole)


def _lock_with_room(
    pool: _Pool, *, tried: list[int], excluded: list[int], now: datetime, recount: list[int]
) -> Comparison | None:
    """The first comparison of the pool with room, locked; those passed over go to `tried`.

    The pool's `outer`, in the same order, is what the short list is locked through: the
    conditions that must still hold once a row is locked, without the ones that picked the list
    (else the planner may scan the campaign a second time for them).
    """
    for attempt in range(_LOCK_RETRIES):
        if attempt == 0 and pool.compiled is not None:
            picked = pool.compiled()
        else:
            ordered, outer = pool.built
            shortlist = ordered.exclude(pk__in=tried)
            around = None if outer is None else outer.exclude(pk__in=tried)
            picked = _shortlist_lock(shortlist, around, split=pool.split, cells=pool.cells).first()
        if picked is None:  # every one of the short list was taken or locked meanwhile
            picked = _locked(pool.built[0].exclude(pk__in=tried)).first()
        if picked is None:  # maybe only locked, by a rater leasing or rating it right now
            picked = _wait_for_lock(pool.built[0].exclude(pk__in=tried))
        if picked is None:
            break
        room_now = picked.gold_answer is not None or has_room(picked, now=now)
        if room_now is None:  # counted leases may have run out since: count again, under the lock
            room_now = taken_exact(comparison_id=picked.pk, excluded=excluded, now=now) < picked.needed
            recount.append(picked.pk)
        if room_now:
            return picked
        tried.append(picked.pk)  # its counter was too high: it is recounted, so no one tries it again
    return None


def _shortlist_lock(
    ordered: QuerySet[Comparison],
    outer: QuerySet[Comparison] | None,
    *,
    split: int | None = None,
    cells: list[int] | None = None,
) -> QuerySet[Comparison]:
    """The first rows of `ordered`, locked through `outer` (or `ordered` itself).

    The whole rows are read for the one item shown; sorting them all would carry the texts
    through the sort (which a lock keeps from stopping at the first row), so the order is found
    on the narrow columns first and the rows read for a short list of the best.

    With `split`, where the rater's rotation wraps (order keys from it come first, then those below
    it), the short list is the first rows of each side for each `label_rank`, each read in index
    order (`comparison_pool`: campaign, label_rank, order_key, id) instead of sorting the pool; the
    first of the rater's order is the first of one of them, so `outer` orders the union. With
    `cells`, the same for each cell along its own index (`comparison_cell_pool`), fewer rows from each
    when there are many: the first rows of the rater's order are among the first of their cells.
    """
    around = ordered if outer is None else outer
    if split is None:
        return _locked(around.filter(pk__in=ordered.values("pk")[:_SHORTLIST]))
    walk = ordered.order_by("order_key", "pk").values("pk")
    each = _SHORTLIST if cells is None else max(4, _SHORTLIST // len(cells))
    parts = [
        walk.filter(side, cell, label_rank=rank)[:each]
        for cell in ([Q()] if cells is None else [Q(cell_id=c) for c in cells])
        for rank in (0, 1)
        for side in (Q(order_key__gte=split), Q(order_key__lt=split))
    ]
    if connection.features.supports_slicing_ordering_in_compound:
        # PostgreSQL: the short list as one array over a UNION ALL, whose rows it then reads by primary
        # key. An OR of four INs it would test on every row of the campaign, and even an IN over the
        # union it may join by scanning the campaign (it did, at 6,600 items: 3-6 ms a rating).
        return _locked(around.filter(KeyAmong(parts[0].union(*parts[1:], all=True))))
    # SQLite cannot limit the parts of a compound; it reads an OR of INs by primary key (MULTI-INDEX OR).
    sides = Q()
    for part in parts:
        sides |= Q(pk__in=part)
    return _locked(around.filter(sides))


# How long a pick looks again for a row with room that other raters hold locked, and how often.
LOCK_WAIT_SECONDS = 0.2
LOCK_POLL_SECONDS = 0.02


def _wait_for_lock(candidates: QuerySet[Comparison]) -> Comparison | None:
    """The first of `candidates` once another rater's transaction lets go of it (PostgreSQL), or None
    after `LOCK_WAIT_SECONDS`.

    SKIP LOCKED passes over a row that another transaction has locked: one leasing the row, or one
    rating it. When those are the only rows with room left, the rater was told there was nothing
    left to rate, and left. Once the other transaction commits, the row may still have room (an
    item that needs two ratings). So the pick looks again, every `LOCK_POLL_SECONDS`, while such
    rows exist. It never waits on a row's lock: the rater's transaction already holds the item it
    rated, and a lock wait there could close a cycle with raters waiting on that item (PostgreSQL
    then failed one of their ratings with "deadlock detected", under CI load).
    """
    if not connection.features.has_select_for_update_skip_locked:
        return None  # SQLite serialises writers: nothing is ever locked and skipped
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while time.monotonic() < deadline and candidates.exists():  # rows with room, all locked just now
        time.sleep(LOCK_POLL_SECONDS)
        picked = _locked(candidates).first()
        if picked is not None:
            return picked
    return None


def _locked(candidates: QuerySet[Comparison]) -> QuerySet[Comparison]:
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL re-checks the counter condition on the row as last committed once it is
        # locked, so a row filled meanwhile is passed over, as is one another rater has locked
        # (`_wait_for_lock` looks again for those).
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return served_rows(candidates)
