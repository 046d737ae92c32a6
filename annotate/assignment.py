"""Serving items to raters and taking their ratings, safely under concurrency.

Invariant: for every regular comparison, ratings by raters not excluded + active leases held by
raters who have not rated it never exceed `needed`. Those counts live in `Comparison.taken`
(annotate.leases), which every change to them recounts while the comparison's row is locked
(SELECT ... FOR UPDATE on PostgreSQL; on SQLite every write transaction is IMMEDIATE, so writers
are serialised). The counter is never below the rows, so serving decides room by reading it: the
candidate search skips rows other raters have locked, PostgreSQL re-checks the counter on the row
as last committed when it locks one, and only when a counted lease may have run out is the item
counted again. A rating given while its rater holds the lease turns the lease into the rating and
changes no count, so it writes nothing but the rating; its insert is what stores it only once.

Gold comparisons carry no capacity: every rater may get each one once. How many a rater gets, and
when, follows `annotate.progress` so that the progress counter moves alike for checks and regular
items; a check is scored on the rater's first answer, which undo keeps (`Assignment.first_choice`).
Skipped items come back after every fresh one, least recently skipped first. A campaign's
`quota_per_rater` caps the regular items one rater may take.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import BigIntegerField, ExpressionWrapper, F, QuerySet
from django.utils import timezone

from annotate.adaptive import adaptive_rank, open_cells_only
from annotate.leases import has_room, lease_renew, taken_add_lease, taken_exact, taken_refresh
from annotate.models import ORDER_PRIME, Assignment, Campaign, Comparison, Rating
from annotate.progress import (
    NOT_MINE,
    UNDO_SECONDS,
    Progress,
    progress_and_held,
    rater_progress,
    room,
    undo_open,
    with_mine,
)
from annotate.rater_access import rater_campaign, rater_campaigns, rater_order
from annotate.rating_store import RatingError, rating_insert, rating_stored
from annotate.selectors import excluded_rater_ids

__all__ = [
    "SIDES",
    "UNDO_SECONDS",
    "Progress",
    "RatingError",
    "item_candidates",
    "item_next",
    "item_serve",
    "item_skip",
    "rater_campaign",
    "rater_campaigns",
    "rater_order",
    "rater_progress",
    "rating_submit",
    "rating_submit_and_serve",
    "rating_undo",
]
SIDES = ("left", "right", "tie", "both_bad")
_LOCK_RETRIES = 8
_SHORTLIST = 32
_rng = random.SystemRandom()


def item_candidates(qs: QuerySet[Comparison], *, campaign: Campaign, rater: User) -> QuerySet[Comparison]:
    """The order in which `qs` (rows of `with_mine`) is offered to the rater: the one place that decides it.

    Items the rater never skipped come first, in the rater's own permutation of the campaign; then
    skipped ones, least recently skipped first (so skipping cycles through them instead of
    returning the same item forever). Adaptive serving extends this ordering.
    """
    a, b = rater_order(campaign=campaign, rater=rater)
    key = ExpressionWrapper((F("order_key") * a + b) % ORDER_PRIME, output_field=BigIntegerField())
    # Stop-when-settled campaigns: the drawn widest-interval cell first (annotate.adaptive). Ordered by
    # F() since the stubs plugin cannot see an annotation made in another function.
    qs = adaptive_rank(qs, campaign=campaign)
    drawn_cell_first = [F("cell_rank").asc()] if "cell_rank" in qs.query.annotations else []
    return qs.annotate(rater_key=key).order_by(
        F("my_lease__skipped_at").asc(nulls_first=True), *drawn_cell_first, "rater_key", "pk"
    )


def _pick(
    qs: QuerySet[Comparison],
    *,
    campaign: Campaign,
    rater: User,
    excluded: list[int],
    now: datetime,
    recount: list[int],
) -> Comparison | None:
    """Lock and lease the first comparison of `qs` in the rater's order that still has room.

    `recount` are comparisons this transaction changed whose counters are to be taken again: they
    are recounted with the leased one, in the same statement.
    """
    ordered = item_candidates(qs, campaign=campaign, rater=rater)
    tried: list[int] = []
    for _ in range(_LOCK_RETRIES):
        pool = ordered.exclude(pk__in=tried)
        # The whole rows are read for the one item shown; sorting them all would carry the texts
        # through the sort (which a lock keeps from stopping at the first row), so the order is
        # found on the narrow columns first and the rows read for a short list of the best.
        picked = _lock_first(pool.filter(pk__in=pool.values("pk")[:_SHORTLIST]))
        if picked is None:  # every one of the short list was taken or locked meanwhile
            picked = _lock_first(pool)
        if picked is None:
            break
        room_now = picked.gold_answer is not None or has_room(picked, now=now)
        if room_now is None:  # counted leases may have run out since: count again, under the lock
            room_now = taken_exact(comparison_id=picked.pk, excluded=excluded, now=now) < picked.needed
            recount.append(picked.pk)
        if room_now:
            until = lease_renew(campaign=campaign, comparison_id=picked.pk, rater=rater, now=now)
            if recount:  # the rare case: recount every row this transaction changed, with this one
                taken_refresh(comparison_ids={*recount, picked.pk}, excluded=excluded, now=now)
                recount.clear()
            else:
                taken_add_lease(comparison_id=picked.pk, until=until)
            return picked
        tried.append(picked.pk)  # its counter was too high: it is recounted, so no one tries it again
    return None


def _lock_first(candidates: QuerySet[Comparison]) -> Comparison | None:
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL re-checks the counter condition on the row as last committed once it is
        # locked, so a row filled meanwhile is passed over, as is one another rater has locked.
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return candidates.select_related("prompt").first()


def item_serve(
    *,
    campaign: Campaign,
    rater: User,
    now: datetime | None = None,
    rng: random.Random | None = None,
    excluded: list[int] | None = None,
) -> tuple[Comparison | None, Progress]:
    """The item to show the rater now (leased to them, or None) and their progress.

    Leasing an item to the rater changes none of their own counts, so the progress read before
    picking is the progress after it. `excluded` (the campaign's excluded rater ids) may be passed
    by a caller that already has it.
    """
    with transaction.atomic():
        return _serve(campaign=campaign, rater=rater, now=now, rng=rng, excluded=excluded, recount=[])


def _serve(
    *,
    campaign: Campaign,
    rater: User,
    now: datetime | None,
    rng: random.Random | None,
    excluded: list[int] | None,
    recount: list[int],
) -> tuple[Comparison | None, Progress]:
    now = now or timezone.now()
    rng = rng or _rng
    progress, held = progress_and_held(campaign=campaign, rater=rater, now=now)
    picked = None
    if held is not None:
        # A reload or a resume shows the item the rater already holds.
        picked = Comparison.objects.select_related("prompt").get(pk=held)
    elif progress.remaining:
        if excluded is None:
            excluded = excluded_rater_ids(campaign=campaign)
        base = with_mine(
            open_cells_only(Comparison.objects.filter(campaign=campaign), campaign=campaign), rater=rater
        )
        gold = base.filter(NOT_MINE, gold_answer__isnull=False)
        regular = base.filter(room(now))
        kw: dict[str, Any] = {
            "campaign": campaign, "rater": rater, "excluded": excluded, "now": now, "recount": recount,
        }  # fmt: skip
        if progress.gold_owed and rng.random() * progress.remaining < progress.gold_owed:
            picked = _pick(gold, **kw)
        if picked is None and progress.regular_left:
            picked = _pick(regular, **kw)
        if picked is None and progress.gold_owed:
            picked = _pick(gold, **kw)
    if recount:  # nothing was leased, which would have recounted them
        taken_refresh(comparison_ids=recount, excluded=excluded or [], now=now)
    return picked, progress


def item_next(
    *,
    campaign: Campaign,
    rater: User,
    now: datetime | None = None,
    rng: random.Random | None = None,
    excluded: list[int] | None = None,
) -> Comparison | None:
    """The item to show the rater now, leased to them; None when they have nothing left to rate."""
    return item_serve(campaign=campaign, rater=rater, now=now, rng=rng, excluded=excluded)[0]


def item_skip(*, campaign: Campaign, rater: User, token: str, now: datetime | None = None) -> None:
    """Give the item back to the pool; the rater gets it again only after every fresh item."""
    now = now or timezone.now()
    with transaction.atomic():
        comparison = (
            Comparison.objects.select_for_update().filter(campaign=campaign, token=token).only("pk").first()
        )
        if comparison is None:
            return
        # A rated item is left alone: skipping it again must not put it back in the rater's queue.
        if Rating.objects.filter(rater=rater, comparison=comparison).exists():
            return
        Assignment.objects.filter(rater=rater, comparison=comparison).update(
            skipped=True, leased_until=now, skipped_at=now
        )
        taken_refresh(comparison_ids=[comparison.pk], excluded=excluded_rater_ids(campaign=campaign), now=now)


def rating_submit(
    *,
    campaign: Campaign,
    rater: User,
    token: str,
    side: str,
    comment: str = "",
    seconds: float | None = None,
    now: datetime | None = None,
    excluded: list[int] | None = None,
) -> tuple[Rating, bool]:
    """Store the rater's choice for the item; returns (rating, created).

    Idempotent: a second submission for the same item (a double click, a resent request, two tabs)
    returns the stored rating unchanged with created False.
    """
    now = now or timezone.now()
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    with transaction.atomic():
        rating, created, recount = _submit(
            campaign=campaign, rater=rater, token=token, side=side, comment=comment, seconds=seconds,
            now=now, excluded=excluded,
        )  # fmt: skip
        taken_refresh(comparison_ids=recount, excluded=excluded, now=now)
    return rating, created


def rating_submit_and_serve(
    *, campaign: Campaign, rater: User, excluded: list[int] | None = None, **choice: Any
) -> tuple[Rating, bool, Comparison | None, Progress]:
    """The rating page's per-rating call: store the choice and lease the next item, in one transaction.

    The same steps as `rating_submit` then `item_serve` (`choice`: their token, side, comment and
    seconds), with one clock and one commit; a refused rating rolls back and serves nothing.
    """
    now = timezone.now()
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    with transaction.atomic():
        rating, created, recount = _submit(
            campaign=campaign, rater=rater, now=now, excluded=excluded, **choice
        )
        item, progress = _serve(
            campaign=campaign, rater=rater, now=now, rng=None, excluded=excluded, recount=recount
        )
    return rating, created, item, progress


def _submit(
    *,
    campaign: Campaign,
    rater: User,
    token: str,
    side: str,
    comment: str = "",
    seconds: float | None = None,
    now: datetime,
    excluded: list[int],
) -> tuple[Rating, bool, list[int]]:
    """Store the choice; returns the rating, whether it is new, and the comparisons to recount."""
    if side not in SIDES:
        raise RatingError(f"unknown choice {side!r}")
    # Every write of a rating for this item happens under this row lock (or, on SQLite, in a
    # serialised write transaction). The rater's own lease is read in the same statement.
    comparison = (
        with_mine(Comparison.objects.filter(campaign=campaign, token=token), rater=rater)
        .select_for_update(of=("self",))
        .only("pk", "campaign_id", "left", "needed", "gold_answer")
        .annotate(
            my_served=F("my_lease__served_at"),
            my_until=F("my_lease__leased_until"),
            my_skipped=F("my_lease__skipped"),
            my_rated=F("my_rating__id"),
        )
        .order_by()
        .first()
    )
    if comparison is None:
        raise RatingError("unknown item")
    if comparison.my_rated is not None:  # type: ignore[attr-defined]
        return rating_stored(comparison=comparison, rater=rater), False, []
    served_at: datetime | None = comparison.my_served  # type: ignore[attr-defined]
    if served_at is None:
        raise RatingError("this item was not served to you")
    held = comparison.my_until > now and not comparison.my_skipped  # type: ignore[attr-defined]
    # While the rater holds the lease, its slot is theirs (counted in `taken`) and the rating takes
    # it over, so nothing is counted or recounted. Once the lease ran out the item may have gone to
    # others meanwhile: count (after the lock) and recount after storing. Gold items carry no
    # capacity but are counted too, so that the two cost the same.
    # (An excluded rater's rating does not count, so theirs is recounted; the pages serve them nothing.)
    recount = [] if held and rater.pk not in excluded else [comparison.pk]
    if not held:
        taken = taken_exact(comparison_id=comparison.pk, excluded=excluded, now=now)
        if comparison.gold_answer is None and taken >= comparison.needed:
            raise RatingError("your time on this item ran out and it went to someone else")
    # The client's clock is a claim; the lease bounds it.
    elapsed = max(0.0, (now - served_at).total_seconds())
    bounded = min(elapsed, float(campaign.lease_seconds))
    if seconds is not None and seconds >= 0:
        bounded = min(bounded, float(seconds))
    rating, created = rating_insert(
        comparison=comparison,
        rater=rater,
        choice=comparison.side_to_system(side),
        side=side,
        comment=comment,
        seconds=round(bounded, 3),
        too_fast=bounded < campaign.min_seconds,
        now=now,
    )
    return rating, created, recount if created else []


def rating_undo(*, campaign: Campaign, rater: User, now: datetime | None = None) -> Comparison:
    """Take back the rater's last rating if it is recent; the item is leased to them again.

    The first answer is kept on the lease (`Assignment.first_choice`): gold checks are scored on it,
    so undo cannot be used to answer a check again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        last = Rating.objects.filter(campaign=campaign, rater=rater).order_by("-created", "-pk").first()
        if last is None or not undo_open(last.created, now):
            raise RatingError("there is no recent rating to undo")
        comparison = (
            Comparison.objects.select_for_update().select_related("prompt").get(pk=last.comparison_id)
        )
        Assignment.objects.filter(rater=rater, comparison=comparison, first_choice="").update(
            first_choice=last.choice
        )
        last.delete()
        lease_renew(campaign=campaign, comparison_id=comparison.pk, rater=rater, now=now)
        taken_refresh(comparison_ids=[comparison.pk], excluded=excluded_rater_ids(campaign=campaign), now=now)
    return comparison
