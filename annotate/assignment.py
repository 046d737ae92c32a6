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
items; a check is scored on the rater's first answer, which undo keeps (`Lease.first_choice`).
Skipped items come back after every fresh one, least recently skipped first. A campaign's
`quota_per_rater` caps the regular items one rater may take.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from annotate.adaptive import open_cells_only
from annotate.leases import lease_renew, taken_exact, taken_refresh
from annotate.models import Campaign, Comparison, Lease, Rating
from annotate.picking import item_candidates, item_pick
from annotate.progress import (
    UNDO_SECONDS,
    Progress,
    progress_and_held,
    rater_progress,
    undo_open,
    with_mine,
)
from annotate.rater_access import rater_campaign, rater_campaigns, rater_order
from annotate.rater_payload import served_rows
from annotate.rater_tokens import item_id
from annotate.rating_store import RatingError, rating_insert, rating_stored
from annotate.selectors import excluded_rater_ids
from annotate.settle_queue import campaign_settle_request
from core.events import campaign_rated, event_send_on_commit
from core.statements import QueryStatement

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
_rng = random.SystemRandom()


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
        picked = served_rows(Comparison.objects.all()).get(pk=held)
    elif progress.remaining:
        if excluded is None:
            excluded = excluded_rater_ids(campaign=campaign)
        base = open_cells_only(Comparison.objects.filter(campaign=campaign), campaign=campaign)
        kw: dict[str, Any] = {
            "campaign": campaign, "rater": rater, "excluded": excluded, "now": now, "recount": recount,
            "step": progress.done,  # the rater's order is drawn afresh at each rating
            # Unless everything left to the rater is an item they skipped, the item is one they
            # never saw. (Stop-when-settled campaigns draw their order at each call: one path.)
            "fresh_first": not progress.only_skipped,
        }  # fmt: skip
        if progress.gold_owed and rng.random() * progress.remaining < progress.gold_owed:
            picked = item_pick(base, gold=True, **kw)
        if picked is None and progress.regular_left:
            picked = item_pick(base, gold=False, **kw)
        if picked is None and progress.gold_owed:
            picked = item_pick(base, gold=True, **kw)
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
        pk = item_id(token=token, campaign_id=campaign.pk)
        comparison = (
            None if pk is None
            else Comparison.objects.select_for_update().filter(campaign=campaign, pk=pk).only("pk").first()
        )  # fmt: skip
        if comparison is None:
            return
        # A rated item is left alone: skipping it again must not put it back in the rater's queue.
        if Rating.objects.filter(rater=rater, comparison=comparison).exists():
            return
        Lease.objects.filter(rater=rater, comparison=comparison).update(
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
        if created:
            campaign_settle_request(campaign=campaign)
            event_send_on_commit(campaign_rated, sender=Campaign, campaign_id=campaign.pk)
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
        if created:
            campaign_settle_request(campaign=campaign)
            event_send_on_commit(campaign_rated, sender=Campaign, campaign_id=campaign.pk)
        item, progress = _serve(
            campaign=campaign, rater=rater, now=now, rng=None, excluded=excluded, recount=recount
        )
    return rating, created, item, progress


def _build_rated_item(values: Mapping[str, Any]) -> QuerySet[Comparison]:
    """The rated item, locked, with the rater's own lease and rating: for `_RATED_ITEM`."""
    rows = Comparison.objects.filter(campaign_id=values["campaign"], pk=values["comparison"])
    return (
        with_mine(rows, rater=User(pk=values["rater"]))
        .select_for_update(of=("self",))
        .only("pk", "campaign_id", "system_on_left", "needed", "gold_answer")
        .annotate(
            my_served=F("my_lease__served_at"),
            my_until=F("my_lease__leased_until"),
            my_skipped=F("my_lease__skipped"),
            my_rated=F("my_rating__id"),
        )
        .order_by("pk")
    )


# Read on every rating: compiled once per process (core.statements).
_RATED_ITEM = QueryStatement(_build_rated_item, ints=("campaign", "rater", "comparison"))


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
    pk = item_id(token=str(token), campaign_id=campaign.pk)
    comparison = (
        None
        if pk is None
        else _RATED_ITEM.first("rated", campaign=campaign.pk, rater=rater.pk, comparison=pk)
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

    The first answer is kept on the lease (`Lease.first_choice`): gold checks are scored on it,
    so undo cannot be used to answer a check again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        last = Rating.objects.filter(campaign=campaign, rater=rater).order_by("-created", "-pk").first()
        if last is None or not undo_open(last.created, now):
            raise RatingError("there is no recent rating to undo")
        comparison = (
            Comparison.objects.select_for_update(of=("self",))
            .select_related("prompt", "texts")
            .get(pk=last.comparison_id)
        )
        Lease.objects.filter(rater=rater, comparison=comparison, first_choice="").update(
            first_choice=last.choice
        )
        last.delete()
        lease_renew(campaign=campaign, comparison_id=comparison.pk, rater=rater, now=now)
        taken_refresh(comparison_ids=[comparison.pk], excluded=excluded_rater_ids(campaign=campaign), now=now)
        campaign_settle_request(campaign=campaign)
    return comparison
