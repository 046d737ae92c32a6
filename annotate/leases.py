"""Leases (a served item held for its rater) and the count that serving and rating check under a row lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection

from annotate.models import Assignment, Campaign, Rating

# A rated item's lease is set here, clearly in the past: a request whose clock started before the
# rating was stored must not count that finished lease as still active.
LEASE_DONE = datetime(2000, 1, 1, tzinfo=UTC)


def taken_sql(
    comparison_id: int, *, rater: User, excluded: list[int], now: datetime
) -> tuple[str, list[Any]]:
    """SQL for ratings by raters not excluded plus others' active leases on one comparison.

    Hand-written because it runs on every rating and every served item; callers fold it into a
    read they make anyway, so that counting costs no round trip of its own. It must run after the
    comparison's row lock is taken (each statement then reads a snapshot from after the lock).
    """
    not_excluded = f" AND rater_id NOT IN ({', '.join(['%s'] * len(excluded))})" if excluded else ""
    sql = (
        f"(SELECT COUNT(*) FROM {Rating._meta.db_table} WHERE comparison_id = %s{not_excluded})"
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
    return sql, params


def lease_renew(*, campaign: Campaign, comparison_id: int, rater: User, now: datetime) -> None:
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
