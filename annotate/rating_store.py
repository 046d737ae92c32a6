"""Storing a rating exactly once: the insert that a double click, a resent request or two tabs cannot repeat."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Field

from annotate.models import COMMENT_MAX_CHARS, Comparison, Rating


class RatingError(Exception):
    """The rating cannot be taken; the message is shown to the rater."""


def rating_stored(*, comparison: Comparison, rater: User) -> Rating:
    """The rating the rater already gave this item."""
    existing = Rating.objects.filter(rater=rater, comparison=comparison).first()
    if existing is None:
        raise RatingError("this item was not served to you")
    return existing


@functools.cache
def _insert_sql() -> tuple[str, list[Field[Any, Any]]]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, and the fields its values come from, in order.

    Built once per process: it runs on every rating and depends only on the model and the database.
    """
    meta = Rating._meta

    def quote(name: str | None) -> str:
        assert name is not None
        return str(connection.ops.quote_name(name))

    fields = [f for f in meta.concrete_fields if not f.primary_key]
    unique = ", ".join(quote(f.column) for f in fields if f.name in ("rater", "comparison"))
    assert meta.pk is not None
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
        f" ON CONFLICT ({unique}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def rating_insert(
    *,
    comparison: Comparison,
    rater: User,
    choice: str,
    side: str,
    comment: str,
    seconds: float,
    too_fast: bool,
    now: datetime,
) -> tuple[Rating, bool]:
    """Insert the rating unless the rater already rated the item; returns (rating, created).

    The unique constraint decides, in the insert itself (PostgreSQL and SQLite both have ON CONFLICT
    ... RETURNING), so a second request of the same rater that read the item before the first one
    committed stores nothing and gets the first one's rating. The ORM cannot say whether an
    ignored-conflict insert stored its row, hence the one hand-written statement.
    """
    rating = Rating(
        comparison=comparison,
        campaign_id=comparison.campaign_id,
        rater=rater,
        choice=choice,
        side=side,
        # The page refuses longer ones (annotate.json_bodies); a direct caller gets them cut.
        comment=comment.strip()[:COMMENT_MAX_CHARS],
        seconds=seconds,
        too_fast=too_fast,
        created=now,
    )
    sql, fields = _insert_sql()
    values = [field.get_db_prep_save(getattr(rating, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return rating_stored(comparison=comparison, rater=rater), False
    rating.pk = row[0]
    rating._state.adding = False
    rating._state.db = connection.alias
    return rating, True
