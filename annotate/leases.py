"""Leases (a served item held for its rater) and `Comparison.taken`, the count serving decides room by.

`taken` is ratings by raters not excluded plus active leases of raters who have not rated the item.
It is recounted from the rows (`taken_refresh`) under the comparison's row lock by every write that
changes it: a lease taken, skipped or renewed by undo, a rating stored after its lease ran out, an
exclusion. A rating stored while its rater holds the lease changes nothing (a lease became a rating),
so the per-rating path writes no counter. Leases run out without a write, so the column can only
be too high, never too low: `lease_check_at`, the first end among the counted leases, marks when it
may be too high, and serving counts again (`taken_exact`) before it refuses an item because of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Exists, Expression, F, Min, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Least
from django.db.models.signals import post_delete, pre_delete
from django.utils import timezone

from annotate.models import Campaign, Comparison, Lease, Rating
from annotate.selectors import excluded_rater_ids
from core.statements import WriteStatement


def _active_leases(now: datetime) -> QuerySet[Lease, Any]:
    """Leases on the outer comparison that are running and whose rater has not rated it."""
    rated = Rating.objects.filter(comparison=OuterRef("comparison"), rater=OuterRef("rater"))
    return (
        Lease.objects.filter(comparison=OuterRef("pk"), leased_until__gt=now, skipped=False)
        .exclude(Exists(rated))
        .order_by()
        .values("comparison")
    )


def taken_expression(*, excluded: list[int], now: datetime) -> Expression:
    """The exact `taken` of the outer comparison, counted from its ratings and leases now."""
    ratings = (
        Rating.objects.filter(comparison=OuterRef("pk"))
        .exclude(rater_id__in=excluded)
        .order_by()
        .values("comparison")
        .annotate(c=Count("pk"))
        .values("c")
    )
    leases = _active_leases(now).annotate(c=Count("pk")).values("c")
    return Coalesce(Subquery(ratings), 0) + Coalesce(Subquery(leases), 0)


def _refresh(qs: QuerySet[Comparison], *, excluded: list[int], now: datetime) -> None:
    qs.update(
        taken=taken_expression(excluded=excluded, now=now),
        lease_check_at=Subquery(_active_leases(now).annotate(m=Min("leased_until")).values("m")),
    )


def taken_refresh(*, comparison_ids: Iterable[int], excluded: list[int], now: datetime) -> None:
    """Recount `taken` and `lease_check_at` of these comparisons from their rows, in one statement.

    Run it under the comparisons' row locks (or in SQLite's serialised write transaction), after
    the writes it must see.
    """
    ids = sorted(set(comparison_ids))
    if ids:
        _refresh(Comparison.objects.filter(pk__in=ids), excluded=excluded, now=now)


def campaign_taken_refresh(*, campaign: Campaign, now: datetime) -> None:
    """Recount every comparison of the campaign, by its exclusions as they stand: after a rater is
    excluded or let back in, or deleted."""
    excluded = excluded_rater_ids(campaign=campaign)
    _refresh(Comparison.objects.filter(campaign=campaign), excluded=excluded, now=now)


def taken_exact(*, comparison_id: int, excluded: list[int], now: datetime) -> int:
    """Count `taken` of one comparison now (under its row lock): when its counted leases may have run out."""
    value: int = (
        Comparison.objects.filter(pk=comparison_id)
        .annotate(exact=taken_expression(excluded=excluded, now=now))
        .values_list("exact", flat=True)[0]
    )
    return value


def _build_add_lease(values: Mapping[str, Any]) -> Callable[[], object]:
    until = Value(values["until"])
    return lambda: Comparison.objects.filter(pk=values["comparison"]).update(
        taken=F("taken") + 1, lease_check_at=Least(Coalesce(F("lease_check_at"), until), until)
    )


# The per-rating writes are compiled once per process (core.statements): building them through the
# ORM each time cost more than running them (issue 31).
_ADD_LEASE = WriteStatement(_build_add_lease, ints=("comparison",), datetimes=("until",))


def taken_add_lease(*, comparison_id: int, until: datetime) -> None:
    """Count a lease just taken on a comparison that had room by its counter (under its row lock).

    Cheaper than a recount and as good: a counter that was exact is exact after it, and one that may
    have been too high keeps its `lease_check_at` in the past, so it is still counted again when needed.
    """
    _ADD_LEASE.execute("add", comparison=comparison_id, until=until)


def has_room(comparison: Comparison, *, now: datetime) -> bool | None:
    """Whether the locked comparison's counter shows room: True, False, or None when it must be recounted."""
    if comparison.taken < comparison.needed:
        return True
    if comparison.lease_check_at is not None and comparison.lease_check_at <= now:
        return None
    return False


def _build_lease(values: Mapping[str, Any]) -> Callable[[], object]:
    lease = Lease(
        campaign_id=values["campaign"],
        comparison_id=values["comparison"],
        rater_id=values["rater"],
        served_at=values["now"],
        leased_until=values["until"],
        skipped=False,
    )
    # One upsert: a rater's row for an item is kept (unique per rater and item) and renewed.
    return lambda: Lease.objects.bulk_create(
        [lease],
        update_conflicts=True,
        unique_fields=["rater", "comparison"],
        update_fields=["served_at", "leased_until", "skipped"],
    )


_LEASE = WriteStatement(_build_lease, ints=("campaign", "comparison", "rater"), datetimes=("now", "until"))


def _lease_end(*, campaign: Campaign, now: datetime) -> datetime:
    return now + timedelta(seconds=campaign.lease_seconds)


def lease_renew(*, campaign: Campaign, comparison_id: int, rater: User, now: datetime) -> datetime:
    """Lease the comparison to the rater (a new lease, or their old one renewed); returns its end."""
    until = _lease_end(campaign=campaign, now=now)
    _LEASE.execute(
        "lease", campaign=campaign.pk, comparison=comparison_id, rater=rater.pk, now=now, until=until
    )
    return until


def _build_lease_counted(values: Mapping[str, Any]) -> Callable[[], object]:
    lease, count = _build_lease(values), _build_add_lease(values)
    return lambda: (lease(), count())


# PostgreSQL: the lease and its count in one statement, one round trip on every rating.
_LEASE_COUNTED = WriteStatement(
    _build_lease_counted, ints=("campaign", "comparison", "rater"), datetimes=("now", "until"), chain=True
)


def lease_take(*, campaign: Campaign, comparison_id: int, rater: User, now: datetime) -> datetime:
    """`lease_renew` then `taken_add_lease` on a comparison that had room by its counter; returns the lease's end."""
    until = _lease_end(campaign=campaign, now=now)
    if connection.vendor == "postgresql":
        _LEASE_COUNTED.execute(
            "lease+count",
            campaign=campaign.pk,
            comparison=comparison_id,
            rater=rater.pk,
            now=now,
            until=until,
        )
    else:
        lease_renew(campaign=campaign, comparison_id=comparison_id, rater=rater, now=now)
        taken_add_lease(comparison_id=comparison_id, until=until)
    return until


def _note_campaigns(sender: Any, instance: User, **kwargs: Any) -> None:
    # Deleting a user deletes their ratings and leases with it, which the counters must follow.
    instance._recount_campaigns = sorted(  # type: ignore[attr-defined]
        set(Lease.objects.filter(rater=instance).values_list("campaign_id", flat=True))
        | set(Rating.objects.filter(rater=instance).values_list("campaign_id", flat=True))
    )


def _recount_campaigns(sender: Any, instance: User, **kwargs: Any) -> None:
    now = timezone.now()
    for campaign in Campaign.objects.filter(pk__in=getattr(instance, "_recount_campaigns", [])):
        campaign_taken_refresh(campaign=campaign, now=now)


def connect_counter_upkeep() -> None:
    """Keep `taken` right when a user is deleted (the admin can); the app itself never deletes one."""
    pre_delete.connect(_note_campaigns, sender=User, dispatch_uid="annotate-taken-pre")
    post_delete.connect(_recount_campaigns, sender=User, dispatch_uid="annotate-taken-post")
