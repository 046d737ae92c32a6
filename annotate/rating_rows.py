"""A campaign's ratings as plain rows for its report, streamed: the columns a report reads and nothing more.

A report at a million ratings cannot afford a model instance per rating (with its comparison, prompt,
systems, rater and texts), nor the texts themselves: it reads each answer's style counts, kept beside
the texts (``ComparisonTexts.style_*``), and streams the rows from a server-side cursor in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from annotate.models import Campaign, Comparison, ComparisonTexts, Lease, Rating
from annotate.selectors import excluded_rater_ids
from annotate.services.comparisons import comparison_texts_style_fill, comparison_texts_style_missing
from eval_sets.models import Prompt
from generation.models import ModelSpec

# datetime.isoformat() of a UTC time: seconds, then microseconds only when not zero, then the offset.
_ISO_UTC = (
    "to_char(annotate_rating.created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN extract(microseconds FROM annotate_rating.created)::bigint %% 1000000 = 0 THEN ''"
    " ELSE '.' || to_char(annotate_rating.created AT TIME ZONE 'UTC', 'US') END || '+00:00'"
)
# Rows fetched from the server-side cursor at a time.
CHUNK = 10_000
# The columns of a row, in order: ids where a name repeats (``campaign_rating_names`` names them, so
# the database joins no prompt, system or user row per rating); the last eight are answer A's style
# counts, then answer B's.
COLUMNS = (
    "comparison__prompt_id",
    "comparison__system_a_id",
    "comparison__system_b_id",
    "comparison__system_on_left",
    "choice",
    "rater_id",
    "seconds",
    "created",
    "comment",
    "comparison__gold_answer",
    "comparison__turn",
    "comparison_id",
    *(f"comparison__texts__{name}" for name in (*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B)),
)


@dataclass(frozen=True)
class RatingNames:
    """What the ids of ``COLUMNS`` name: prompt id -> (uid, category, setting), system id -> name,
    rater id -> username."""

    prompts: dict[int, tuple[str, str, str]]
    systems: dict[int, str]
    raters: dict[int, str]


def campaign_rating_names(*, campaign: Campaign) -> RatingNames:
    """The names of every prompt, system and rater the campaign's ratings refer to."""
    prompts = Prompt.objects.filter(
        pk__in=Comparison.objects.filter(campaign=campaign).values("prompt_id")
    ).values_list("pk", "uid", "category", "setting")
    rated = Rating.objects.filter(campaign=campaign).values("rater_id")
    compared = Comparison.objects.filter(campaign=campaign)
    systems = ModelSpec.objects.filter(
        Q(pk__in=compared.values("system_a_id")) | Q(pk__in=compared.values("system_b_id"))
    )
    return RatingNames(
        prompts={pk: (uid, category, setting) for pk, uid, category, setting in prompts},
        systems=dict(systems.values_list("pk", "name")),
        raters=dict(User.objects.filter(pk__in=rated).values_list("pk", "username")),
    )


def campaign_counted_ratings(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> QuerySet[Rating]:
    """The ratings a report or an export of the campaign holds: the one rule for both.

    Uploaded gold pairs compare no systems and are left out; so are raters a researcher excluded
    (unless `include_excluded_raters`), `exclude_raters` (usernames) and, with `exclude_gold`, checks.
    """
    ratings = Rating.objects.filter(campaign=campaign, comparison__system_a__isnull=False)
    skip = {name for name in exclude_raters if name}
    if skip:
        ratings = ratings.exclude(rater__username__in=skip)
    if not include_excluded_raters:
        ratings = ratings.exclude(rater_id__in=excluded_rater_ids(campaign=campaign))
    if exclude_gold:
        ratings = ratings.filter(comparison__gold_answer__isnull=True)
    return ratings


def campaign_rating_rows(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """The rows (``COLUMNS``) of the ratings ``reports.campaign_records.campaign_rating_records`` returns,
    filtered and ordered as it does (oldest first), ``created`` as its ISO-8601 text; texts without
    style counts are counted first."""
    if comparison_texts_style_missing(campaign=campaign):
        comparison_texts_style_fill(campaign=campaign)
    ratings = campaign_counted_ratings(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    ).order_by("created", "pk")
    if connection.vendor == "postgresql":
        # The time as datetime.isoformat() writes it (Django keeps UTC), made by the server: loading a
        # million datetimes in Python and formatting them costs more than the rest of a row.
        ratings = ratings.annotate(created_iso=RawSQL(_ISO_UTC, ()))
        columns = tuple("created_iso" if name == "created" else name for name in COLUMNS)
        return ratings.values_list(*columns).iterator(chunk_size=CHUNK)
    rows = ratings.values_list(*COLUMNS).iterator(chunk_size=CHUNK)
    at = COLUMNS.index("created")
    return ((*row[:at], row[at].isoformat(), *row[at + 1 :]) for row in rows)


# What a report's arrays (analysis.columns) are read from: ``COLUMNS`` without the time and the comment,
# which no statistic reads.
ARRAY_COLUMNS = tuple(name for name in COLUMNS if name not in ("created", "comment"))


def campaign_rating_array_chunks(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows (``ARRAY_COLUMNS``) of ``campaign_rating_rows``, same filter and order, a list of up to
    ``CHUNK`` rows at a time (a report turns each list into arrays, then drops it)."""
    if comparison_texts_style_missing(campaign=campaign):
        comparison_texts_style_fill(campaign=campaign)
    ratings = campaign_counted_ratings(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    ).order_by("created", "pk")
    chunk: list[tuple[Any, ...]] = []
    for row in ratings.values_list(*ARRAY_COLUMNS).iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def campaign_gold_first_choices(*, campaign: Campaign) -> dict[tuple[int, int], str]:
    """(rater id, comparison id) -> the rater's first answer, for the campaign's gold comparisons."""
    rows = Lease.objects.filter(campaign=campaign, comparison__gold_answer__isnull=False).exclude(
        first_choice=""
    )
    return {
        (rater, comparison): first
        for rater, comparison, first in rows.values_list("rater_id", "comparison_id", "first_choice")
    }
