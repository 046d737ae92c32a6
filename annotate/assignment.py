"""Serving items to raters and taking their ratings, safely under concurrency.

Invariant: for every regular comparison, ratings by raters not excluded + active leases held by
raters who have not rated it never exceed `needed`. Every change to those counts for a comparison
happens while its row is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite every write
transaction is IMMEDIATE, so writers are serialised). Candidate search on PostgreSQL skips rows
other raters have locked, and re-counts after taking the lock, because the search ran on an older
snapshot.

Gold comparisons carry no capacity: every rater may get each one once. How many a rater gets, and
when, follows `annotate.progress` so that the progress counter moves alike for checks and regular
items; a check is scored on the rater's first answer (`Assignment.first_choice`), which undo keeps.
Skipped items come back after every fresh one, least recently skipped first. A campaign's
`quota_per_rater` caps the regular items one rater may take.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from annotate.adaptive import adaptive_rank, open_cells_only
from annotate.leases import LEASE_DONE, lease_renew, taken_sql
from annotate.models import ORDER_PRIME, Assignment, Campaign, Comparison, Rating
from annotate.progress import (
    ROOM,
    UNDO_SECONDS,
    Progress,
    progress_and_held,
    rater_progress,
    undo_open,
    with_counts,
)
from annotate.rater_access import rater_campaign, rater_campaigns, rater_order
from annotate.selectors import excluded_rater_ids

__all__ = [
    "LEASE_DONE",
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
_rng = random.SystemRandom()


class RatingError(Exception):
    """The rating cannot be taken; the message is shown to the rater."""


def _with_room(
    qs: QuerySet[Comparison], *, rater: User, excluded: list[int], now: datetime
) -> QuerySet[Comparison]:
    """Regular comparisons the rater has not rated and that still need ratings."""
    return with_counts(qs, rater=rater, excluded=excluded, now=now).filter(ROOM)


def item_candidates(qs: QuerySet[Comparison], *, campaign: Campaign, rater: User) -> QuerySet[Comparison]:
    """The order in which `qs` is offered to the rater: the one place that decides it.

    Items the rater never skipped come first, in the rater's own permutation of the campaign; then
    skipped ones, least recently skipped first (so skipping cycles through them instead of
    returning the same item forever). Adaptive serving extends this ordering.
    """
    a, b = rater_order(campaign=campaign, rater=rater)
    key = ExpressionWrapper((F("order_key") * a + b) % ORDER_PRIME, output_field=BigIntegerField())
    skipped_at = Subquery(
        Assignment.objects.filter(comparison=OuterRef("pk"), rater=rater).values("skipped_at")[:1]
    )
    # Stop-when-settled campaigns: the drawn widest-interval cell first (annotate.adaptive). Ordered by
    # F() since the stubs plugin cannot see an annotation made in another function.
    qs = adaptive_rank(qs, campaign=campaign)
    drawn_cell_first = [F("cell_rank").asc()] if "cell_rank" in qs.query.annotations else []
    return qs.annotate(rater_key=key, my_skip=skipped_at).order_by(
        F("my_skip").asc(nulls_first=True), *drawn_cell_first, "rater_key", "pk"
    )


def _pick(
    qs: QuerySet[Comparison],
    *,
    campaign: Campaign,
    rater: User,
    excluded: list[int],
    now: datetime,
) -> Comparison | None:
    """Lock and lease the first comparison of `qs` in the rater's order that still has room."""
    tried: list[int] = []
    for _ in range(_LOCK_RETRIES):
        candidates = item_candidates(qs.exclude(pk__in=tried), campaign=campaign, rater=rater)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        # Only the key columns: the search sorts every candidate, so wide rows (the texts, the
        # prompt) would be carried through the sort; the one row picked is read afterwards.
        found = candidates.values_list("pk", "needed", "gold_answer").first()
        if found is None:
            return None
        pk, needed, gold_answer = found
        # Counted again under the lock (the search ran on a snapshot from before it), in the same
        # statement that reads the row to show.
        sql, params = taken_sql(pk, rater=rater, excluded=excluded, now=now)
        picked = (
            Comparison.objects.select_related("prompt")
            .annotate(taken=RawSQL(sql, params, output_field=IntegerField()))
            .get(pk=pk)
        )
        if gold_answer is not None or picked.taken < needed:
            lease_renew(campaign=campaign, comparison_id=pk, rater=rater, now=now)
            return picked
        tried.append(pk)
    return None


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
        return _serve(campaign=campaign, rater=rater, now=now, rng=rng, excluded=excluded)


def _serve(
    *,
    campaign: Campaign,
    rater: User,
    now: datetime | None,
    rng: random.Random | None,
    excluded: list[int] | None,
) -> tuple[Comparison | None, Progress]:
    now = now or timezone.now()
    rng = rng or _rng
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    progress, held = progress_and_held(campaign=campaign, rater=rater, now=now, excluded=excluded)
    if held is not None:
        # A reload or a resume shows the item the rater already holds.
        return Comparison.objects.select_related("prompt").get(pk=held), progress
    if progress.remaining == 0:
        return None, progress
    base = open_cells_only(Comparison.objects.filter(campaign=campaign), campaign=campaign)
    gold = base.filter(gold_answer__isnull=False).exclude(
        Exists(Rating.objects.filter(comparison=OuterRef("pk"), rater=rater))
    )
    kw: dict[str, Any] = {"campaign": campaign, "rater": rater, "excluded": excluded, "now": now}
    regular = _with_room(base, rater=rater, excluded=excluded, now=now)
    picked = None
    if progress.gold_owed and rng.random() * progress.remaining < progress.gold_owed:
        picked = _pick(gold, **kw)
    if picked is None and progress.regular_left:
        picked = _pick(regular, **kw)
    if picked is None and progress.gold_owed:
        picked = _pick(gold, **kw)
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
        # A rated item's lease stays closed: skipping it again must not reopen it.
        Assignment.objects.filter(campaign=campaign, rater=rater, comparison__token=token).exclude(
            leased_until=LEASE_DONE
        ).update(skipped=True, leased_until=now, skipped_at=now)


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
    if side not in SIDES:
        raise RatingError(f"unknown choice {side!r}")
    with transaction.atomic():
        return _submit(
            campaign=campaign, rater=rater, token=token, side=side, comment=comment, seconds=seconds,
            now=now, excluded=excluded,
        )  # fmt: skip


def rating_submit_and_serve(
    *,
    campaign: Campaign,
    rater: User,
    token: str,
    side: str,
    comment: str = "",
    seconds: float | None = None,
    excluded: list[int] | None = None,
) -> tuple[Rating, bool, Comparison | None, Progress]:
    """The rating page's per-rating call: store the choice and lease the next item, in one transaction.

    The same steps as `rating_submit` then `item_serve`, with one clock and one commit; a refused
    rating rolls back and serves nothing.
    """
    if side not in SIDES:
        raise RatingError(f"unknown choice {side!r}")
    now = timezone.now()
    with transaction.atomic():
        rating, created = _submit(
            campaign=campaign, rater=rater, token=token, side=side, comment=comment, seconds=seconds,
            now=now, excluded=excluded,
        )  # fmt: skip
        item, progress = _serve(campaign=campaign, rater=rater, now=now, rng=None, excluded=excluded)
    return rating, created, item, progress


def _submit(
    *,
    campaign: Campaign,
    rater: User,
    token: str,
    side: str,
    comment: str,
    seconds: float | None,
    now: datetime | None,
    excluded: list[int] | None,
) -> tuple[Rating, bool]:
    now = now or timezone.now()
    # Every write of a rating for this item happens under this row lock (or, on SQLite, in a
    # serialised write transaction). The rater's own lease is read in the same statement: only
    # this rater writes it, and a second request of theirs racing this one is caught by the
    # guarded update below, which PostgreSQL re-checks against the row as last committed.
    mine = Assignment.objects.filter(comparison=OuterRef("pk"), rater=rater)
    comparison = (
        Comparison.objects.select_for_update(of=("self",))
        .only("pk", "campaign_id", "left", "needed", "gold_answer")
        .filter(campaign=campaign, token=token)
        .annotate(
            my_served=Subquery(mine.values("served_at")[:1]),
            my_until=Subquery(mine.values("leased_until")[:1]),
            my_skipped=Subquery(mine.values("skipped")[:1]),
            my_rated=Exists(Rating.objects.filter(rater=rater, comparison=OuterRef("pk"))),
        )
        .order_by()
        .first()
    )
    if comparison is None:
        raise RatingError("unknown item")
    served_at: datetime | None = comparison.my_served  # type: ignore[attr-defined]
    if comparison.my_rated:  # type: ignore[attr-defined]
        return _stored(comparison=comparison, rater=rater), False
    if served_at is None:
        raise RatingError("this item was not served to you")
    held = comparison.my_until > now and not comparison.my_skipped  # type: ignore[attr-defined]
    if not held:
        # The lease ran out: the item may have gone to others meanwhile, so count (after the lock).
        # Gold items carry no capacity but are counted too, so that the two cost the same.
        if excluded is None:
            excluded = excluded_rater_ids(campaign=campaign)
        sql, params = taken_sql(comparison.pk, rater=rater, excluded=excluded, now=now)
        taken = (
            Comparison.objects.filter(pk=comparison.pk)
            .annotate(taken=RawSQL(sql, params, output_field=IntegerField()))
            .values_list("taken", flat=True)[0]
        )
        if comparison.gold_answer is None and taken >= comparison.needed:
            raise RatingError("your time on this item ran out and it went to someone else")
    # While the rater holds the lease its slot is theirs (the invariant counted it), so no count.
    # The client's clock is a claim; the lease bounds it.
    elapsed = max(0.0, (now - served_at).total_seconds())
    bounded = min(elapsed, float(campaign.lease_seconds))
    if seconds is not None and seconds >= 0:
        bounded = min(bounded, float(seconds))
    choice = comparison.side_to_system(side)
    closed = (
        Assignment.objects.filter(rater=rater, comparison=comparison)
        .exclude(leased_until=LEASE_DONE)
        .update(
            leased_until=LEASE_DONE,
            skipped=False,
            first_choice=Case(When(first_choice="", then=Value(choice)), default=F("first_choice")),
        )
    )
    if not closed:  # another request of this rater stored it while this one waited for the lock
        return _stored(comparison=comparison, rater=rater), False
    rating = Rating.objects.create(
        comparison=comparison,
        campaign=campaign,
        rater=rater,
        choice=choice,
        side=side,
        comment=comment.strip()[:5000],
        seconds=round(bounded, 3),
        too_fast=bounded < campaign.min_seconds,
        created=now,
    )
    return rating, True


def _stored(*, comparison: Comparison, rater: User) -> Rating:
    existing = Rating.objects.filter(rater=rater, comparison=comparison).first()
    if existing is None:
        raise RatingError("this item was not served to you")
    return existing


def rating_undo(*, campaign: Campaign, rater: User, now: datetime | None = None) -> Comparison:
    """Take back the rater's last rating if it is recent; the item is leased to them again."""
    now = now or timezone.now()
    with transaction.atomic():
        last = Rating.objects.filter(campaign=campaign, rater=rater).order_by("-created", "-pk").first()
        if last is None or not undo_open(last.created, now):
            raise RatingError("there is no recent rating to undo")
        comparison = (
            Comparison.objects.select_for_update().select_related("prompt").get(pk=last.comparison_id)
        )
        last.delete()
        lease_renew(campaign=campaign, comparison_id=comparison.pk, rater=rater, now=now)
    return comparison
