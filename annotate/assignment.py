"""Serving items to raters and taking their ratings, safely under concurrency.

Invariant: for every regular comparison, ratings by raters not excluded + active leases held by
raters who have not rated it never exceed `needed`. Every change to those counts for a comparison
happens while its row is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite every write
transaction is IMMEDIATE, so writers are serialised). Candidate search on PostgreSQL skips rows
other raters have locked, and re-counts after taking the lock, because the search ran on an older
snapshot.

Gold comparisons carry no capacity: every rater may get each one once, at the campaign's rate.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate.models import ORDER_PRIME, Assignment, Campaign, Comparison, Rating
from annotate.selectors import excluded_rater_ids

# How long a rater may take back their last rating; the rating page is told this number.
UNDO_SECONDS = 60
# A rated item's lease is set here, clearly in the past: a request whose clock started before the
# rating was stored must not count that finished lease as still active.
LEASE_DONE = datetime(2000, 1, 1, tzinfo=UTC)
SIDES = ("left", "right", "tie", "both_bad")
_LOCK_RETRIES = 8
_rng = random.SystemRandom()


class RatingError(Exception):
    """The rating cannot be taken; the message is shown to the rater."""


@dataclass(frozen=True)
class Progress:
    done: int
    remaining: int
    undo: bool = False

    @property
    def percent(self) -> float:
        total = self.done + self.remaining
        return 100.0 * self.done / total if total else 100.0


def rater_campaigns(*, rater: User) -> QuerySet[Campaign]:
    """Open campaigns the rater is in and not excluded from."""
    return (
        Campaign.objects.filter(status=Campaign.Status.OPEN, raters=rater)
        .exclude(exclusions__rater=rater)
        .order_by("created", "pk")
    )


def rater_order(*, campaign: Campaign, rater: User) -> tuple[int, int]:
    """The rater's own permutation of the campaign, (a, b) in key -> (key * a + b) mod p.

    Keyed with the site secret so it is stable for a rater (a reload shows the same order) and
    unguessable, and independent of anything about the systems.
    """
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"order:{campaign.pk}:{rater.pk}".encode(), hashlib.sha256
    ).digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (ORDER_PRIME - 1)
    b = int.from_bytes(digest[8:16], "big") % ORDER_PRIME
    return a, b


def _undo_open(rated_at: datetime | None, now: datetime) -> bool:
    """A rating may be taken back for UNDO_SECONDS after it was stored."""
    return rated_at is not None and (now - rated_at).total_seconds() <= UNDO_SECONDS


def _with_room(
    qs: QuerySet[Comparison], *, rater: User, excluded: list[int], now: datetime
) -> QuerySet[Comparison]:
    """Regular comparisons the rater has not rated and that still need ratings."""
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
    return (
        qs.filter(gold_answer__isnull=True)
        .exclude(Exists(Rating.objects.filter(comparison=OuterRef("pk"), rater=rater)))
        .annotate(
            n_ratings=Coalesce(Subquery(ratings), 0),
            n_leases=Coalesce(Subquery(leases), 0),
        )
        .filter(needed__gt=F("n_ratings") + F("n_leases"))
    )


def _ordered(qs: QuerySet[Comparison], *, campaign: Campaign, rater: User) -> QuerySet[Comparison]:
    a, b = rater_order(campaign=campaign, rater=rater)
    key = ExpressionWrapper((F("order_key") * a + b) % ORDER_PRIME, output_field=BigIntegerField())
    return qs.annotate(rater_key=key).order_by("rater_key", "pk")


def _has_room(
    comparison_id: int, *, needed: int, gold: bool, rater: User, excluded: list[int], now: datetime
) -> bool:
    """Ratings by raters not excluded plus others' active leases are below `needed`: one query."""
    if gold:
        return True
    # Hand-written because it runs on every rating and every served item: one round trip, and
    # none of the ORM's query building.
    not_excluded = f" AND rater_id NOT IN ({', '.join(['%s'] * len(excluded))})" if excluded else ""
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {Rating._meta.db_table} WHERE comparison_id = %s{not_excluded})"
        f" + (SELECT COUNT(*) FROM {Assignment._meta.db_table} WHERE comparison_id = %s"
        " AND leased_until > %s AND skipped = %s AND rater_id <> %s)"
    )
    params = [
        comparison_id,
        *excluded,
        comparison_id,
        connection.ops.adapt_datetimefield_value(now),
        False,
        rater.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (taken,) = cursor.fetchone()
    return int(taken) < needed


def _lease(*, campaign: Campaign, comparison_id: int, rater: User, now: datetime) -> None:
    until = now + timedelta(seconds=campaign.lease_seconds)
    # One upsert: a rater's row for an item is kept (unique per rater and item) and renewed.
    Assignment.objects.bulk_create(
        [
            Assignment(
                campaign=campaign,
                comparison_id=comparison_id,
                rater=rater,
                served_at=now,
                leased_until=until,
                skipped=False,
            )
        ],
        update_conflicts=True,
        unique_fields=["rater", "comparison"],
        update_fields=["served_at", "leased_until", "skipped"],
    )


def _current(*, campaign: Campaign, rater: User, now: datetime) -> Comparison | None:
    """The item the rater already holds (a reload or a resume shows it again)."""
    held = (
        Assignment.objects.filter(campaign=campaign, rater=rater, leased_until__gt=now, skipped=False)
        .exclude(Exists(Rating.objects.filter(comparison=OuterRef("comparison"), rater=rater)))
        .select_related("comparison", "comparison__prompt")
        .order_by("-served_at", "-pk")
        .first()
    )
    return held.comparison if held else None


def _pick(
    qs: QuerySet[Comparison], *, campaign: Campaign, rater: User, excluded: list[int], now: datetime
) -> Comparison | None:
    """Lock and lease the first comparison of `qs` in the rater's order that still has room."""
    tried: list[int] = []
    for _ in range(_LOCK_RETRIES):
        candidates = _ordered(qs.exclude(pk__in=tried), campaign=campaign, rater=rater)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        # Only the key columns: the search sorts every candidate, so wide rows (the texts, the
        # prompt) would be carried through the sort; the one row picked is read afterwards.
        found = candidates.values_list("pk", "needed", "gold_answer").first()
        if found is None:
            return None
        pk, needed, gold_answer = found
        # Counted again under the lock: the search ran on a snapshot from before it.
        if _has_room(
            pk, needed=needed, gold=gold_answer is not None, rater=rater, excluded=excluded, now=now
        ):
            _lease(campaign=campaign, comparison_id=pk, rater=rater, now=now)
            return Comparison.objects.select_related("prompt").get(pk=pk)
        tried.append(pk)
    return None


def item_next(
    *,
    campaign: Campaign,
    rater: User,
    now: datetime | None = None,
    rng: random.Random | None = None,
    excluded: list[int] | None = None,
) -> Comparison | None:
    """The item to show the rater now, leased to them; None when they have nothing left to rate.

    `excluded` (the campaign's excluded rater ids) may be passed by a caller that already has it.
    """
    now = now or timezone.now()
    rng = rng or _rng
    with transaction.atomic():
        current = _current(campaign=campaign, rater=rater, now=now)
        if current is not None:
            return current
        if excluded is None:
            excluded = excluded_rater_ids(campaign=campaign)
        base = Comparison.objects.filter(campaign=campaign)
        regular = _with_room(base, rater=rater, excluded=excluded, now=now)
        fresh = regular.exclude(
            Exists(Assignment.objects.filter(comparison=OuterRef("pk"), rater=rater, skipped=True))
        )
        if campaign.gold_fraction > 0 and rng.random() < campaign.gold_fraction and regular.exists():
            gold = (
                base.filter(gold_answer__isnull=False)
                .exclude(Exists(Rating.objects.filter(comparison=OuterRef("pk"), rater=rater)))
                .exclude(
                    Exists(Assignment.objects.filter(comparison=OuterRef("pk"), rater=rater, skipped=True))
                )
            )
            picked = _pick(gold, campaign=campaign, rater=rater, excluded=excluded, now=now)
            if picked is not None:
                return picked
        picked = _pick(fresh, campaign=campaign, rater=rater, excluded=excluded, now=now)
        if picked is None:
            # Only skipped items are left: offer them again rather than stop.
            picked = _pick(regular, campaign=campaign, rater=rater, excluded=excluded, now=now)
        return picked


def item_skip(*, campaign: Campaign, rater: User, token: str, now: datetime | None = None) -> None:
    """Give the item back to the pool; the rater gets it again only when nothing else is left."""
    now = now or timezone.now()
    with transaction.atomic():
        Assignment.objects.filter(campaign=campaign, rater=rater, comparison__token=token).update(
            skipped=True, leased_until=now
        )


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
        # Every write of a rating for this item happens under this row lock (or, on SQLite, in a
        # serialised write transaction), so the checks below cannot race another submission.
        comparison = (
            Comparison.objects.select_for_update(of=("self",))
            .only("pk", "campaign_id", "left", "needed", "gold_answer")
            .filter(campaign=campaign, token=token)
            .first()
        )
        if comparison is None:
            raise RatingError("unknown item")
        now = now or timezone.now()
        existing = Rating.objects.filter(rater=rater, comparison=comparison).first()
        if existing is not None:
            return existing, False
        served_at = (
            Assignment.objects.filter(rater=rater, comparison=comparison)
            .values_list("served_at", flat=True)
            .first()
        )
        if served_at is None:
            raise RatingError("this item was not served to you")
        if excluded is None:
            excluded = excluded_rater_ids(campaign=campaign)
        if not _has_room(
            comparison.pk,
            needed=comparison.needed,
            gold=comparison.gold_answer is not None,
            rater=rater,
            excluded=excluded,
            now=now,
        ):
            raise RatingError("your time on this item ran out and it went to someone else")
        # The client's clock is a claim; the lease bounds it.
        elapsed = max(0.0, (now - served_at).total_seconds())
        bounded = min(elapsed, float(campaign.lease_seconds))
        if seconds is not None and seconds >= 0:
            bounded = min(bounded, float(seconds))
        rating = Rating.objects.create(
            comparison=comparison,
            campaign=campaign,
            rater=rater,
            choice=comparison.side_to_system(side),
            side=side,
            comment=comment.strip()[:5000],
            seconds=round(bounded, 3),
            created=now,
        )
        Assignment.objects.filter(rater=rater, comparison=comparison).update(
            leased_until=LEASE_DONE, skipped=False
        )
    return rating, True


def rating_undo(*, campaign: Campaign, rater: User, now: datetime | None = None) -> Comparison:
    """Take back the rater's last rating if it is recent; the item is leased to them again."""
    now = now or timezone.now()
    with transaction.atomic():
        last = Rating.objects.filter(campaign=campaign, rater=rater).order_by("-created", "-pk").first()
        if last is None or not _undo_open(last.created, now):
            raise RatingError("there is no recent rating to undo")
        comparison = (
            Comparison.objects.select_for_update().select_related("prompt").get(pk=last.comparison_id)
        )
        last.delete()
        _lease(campaign=campaign, comparison_id=comparison.pk, rater=rater, now=now)
    return comparison


def rater_progress(
    *, campaign: Campaign, rater: User, now: datetime | None = None, excluded: list[int] | None = None
) -> Progress:
    """The rater's own progress: rated, still available to them, and whether undo is open."""
    now = now or timezone.now()
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    mine = Rating.objects.filter(campaign=campaign, rater=rater).aggregate(n=Count("pk"), last=Max("created"))
    remaining = _with_room(
        Comparison.objects.filter(campaign=campaign), rater=rater, excluded=excluded, now=now
    ).count()
    return Progress(done=mine["n"], remaining=remaining, undo=_undo_open(mine["last"], now))
