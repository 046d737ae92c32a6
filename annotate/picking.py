"""Finding the rater's next item: the order items are offered in, and locking the first with room.

`annotate.assignment` decides which pool to look in (a gold check or a regular item, fresh or
skipped) and leases what this finds; the invariant it keeps is stated there.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BigIntegerField, ExpressionWrapper, F, Q, QuerySet

from annotate.adaptive import adaptive_rank
from annotate.leases import has_room, lease_renew, taken_add_lease, taken_exact, taken_refresh
from annotate.models import ORDER_PRIME, Campaign, Comparison
from annotate.rater_access import rater_order

_LOCK_RETRIES = 8
_SHORTLIST = 32


def item_candidates(
    qs: QuerySet[Comparison], *, campaign: Campaign, rater: User, fresh: bool = False
) -> QuerySet[Comparison]:
    """The order in which `qs` (rows of `with_mine`) is offered to the rater: the one place that decides it.

    Items the rater never skipped come first, in the rater's own permutation of the campaign; then
    skipped ones, least recently skipped first (so skipping cycles through them instead of
    returning the same item forever). Adaptive serving extends this ordering. `fresh` says that
    `qs` holds no item the rater skipped (`fresh_to`), and is not joined to the rater's rows.
    """
    a, b = rater_order(campaign=campaign, rater=rater)
    key = ExpressionWrapper((F("order_key") * a + b) % ORDER_PRIME, output_field=BigIntegerField())
    # Stop-when-settled campaigns: the drawn widest-interval cell first (annotate.adaptive). Ordered by
    # F() since the stubs plugin cannot see an annotation made in another function.
    qs = adaptive_rank(qs, campaign=campaign)
    drawn_cell_first = [F("cell_rank").asc()] if "cell_rank" in qs.query.annotations else []
    skipped_last = [] if fresh else [F("my_lease__skipped_at").asc(nulls_first=True)]
    return qs.annotate(rater_key=key).order_by(*skipped_last, *drawn_cell_first, "rater_key", "pk")


def item_pick(
    qs: QuerySet[Comparison],
    *,
    fresh: tuple[QuerySet[Comparison], Q] | None,
    campaign: Campaign,
    rater: User,
    excluded: list[int],
    now: datetime,
    recount: list[int],
) -> Comparison | None:
    """Lock and lease the first comparison of `qs` in the rater's order that still has room.

    `fresh` is the part of `qs` the rater never skipped (without `qs`'s joins) and the condition
    of room it must still meet once locked: it is tried first, as it comes first in the rater's
    order and nearly always holds the item. `recount` are comparisons this transaction changed
    whose counters are to be taken again: they are recounted with the leased one, in one statement.
    """
    pools: list[tuple[QuerySet[Comparison], QuerySet[Comparison] | None]] = []
    if fresh is not None:
        pool, recheck = fresh
        pools.append(
            (
                item_candidates(pool, campaign=campaign, rater=rater, fresh=True),
                item_candidates(
                    Comparison.objects.filter(recheck), campaign=campaign, rater=rater, fresh=True
                ),
            )
        )
    pools.append((item_candidates(qs, campaign=campaign, rater=rater), None))
    tried: list[int] = []
    for ordered, outer in pools:
        picked = _lock_with_room(ordered, outer, tried=tried, excluded=excluded, now=now, recount=recount)
        if picked is not None:
            until = lease_renew(campaign=campaign, comparison_id=picked.pk, rater=rater, now=now)
            if recount:  # the rare case: recount every row this transaction changed, with this one
                taken_refresh(comparison_ids={*recount, picked.pk}, excluded=excluded, now=now)
                recount.clear()
            else:
                taken_add_lease(comparison_id=picked.pk, until=until)
            return picked
    return None


def _lock_with_room(
    ordered: QuerySet[Comparison],
    outer: QuerySet[Comparison] | None,
    *,
    tried: list[int],
    excluded: list[int],
    now: datetime,
    recount: list[int],
) -> Comparison | None:
    """The first comparison of `ordered` with room, locked; those passed over go to `tried`.

    `outer`, in the same order, is what the short list is locked through: the conditions that
    must still hold once a row is locked, without the ones that picked the list (else the
    planner may scan the campaign a second time for them).
    """
    for _ in range(_LOCK_RETRIES):
        pool = ordered.exclude(pk__in=tried)
        around = pool if outer is None else outer.exclude(pk__in=tried)
        # The whole rows are read for the one item shown; sorting them all would carry the texts
        # through the sort (which a lock keeps from stopping at the first row), so the order is
        # found on the narrow columns first and the rows read for a short list of the best.
        picked = _lock_first(around.filter(pk__in=pool.values("pk")[:_SHORTLIST]))
        if picked is None:  # every one of the short list was taken or locked meanwhile
            picked = _lock_first(pool)
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


def _lock_first(candidates: QuerySet[Comparison]) -> Comparison | None:
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL re-checks the counter condition on the row as last committed once it is
        # locked, so a row filled meanwhile is passed over, as is one another rater has locked.
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return candidates.select_related("prompt", "texts").first()
