"""A campaign's ratings as plain rows for its report, streamed: the columns a report reads and nothing more.

A report at a million ratings cannot afford a model instance per rating (with its comparison, prompt,
systems, rater and texts), nor the texts themselves: it reads each answer's style counts, kept beside
the texts (``ComparisonTexts.style_*``), and streams the rows from a server-side cursor in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BigIntegerField, Case, FloatField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce

from annotate.models import Campaign, Comparison, ComparisonTexts, Lease, Rating
from annotate.selectors import excluded_rater_ids
from annotate.services.comparisons import comparison_texts_style_fill, comparison_texts_style_missing
from annotate.serving_models import BY_TIME
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
    # The rated comparisons' prompts only: a campaign of a million items, a tenth of them rated, read
    # every prompt's names for the page (3.6 s); the prompts nobody rated are in no rating's row.
    prompts = Prompt.objects.filter(
        pk__in=Rating.objects.filter(campaign=campaign).values("comparison__prompt_id")
    ).values_list("pk", "uid", "category", "setting")
    rated = Rating.objects.filter(campaign=campaign).values("rater_id")
    compared = Comparison.objects.filter(campaign=campaign)
    systems = ModelSpec.objects.filter(
        Q(pk__in=compared.values("system_a_id")) | Q(pk__in=compared.values("system_b_id"))
    )
    return RatingNames(
        prompts=_prompt_names(prompts),
        systems=dict(systems.values_list("pk", "name")),
        raters=dict(User.objects.filter(pk__in=rated).values_list("pk", "username")),
    )


def _prompt_names(prompts: QuerySet[Prompt, tuple[Any, ...]]) -> dict[int, tuple[str, str, str]]:
    """pk -> (uid, category, setting). On PostgreSQL as four arrays in one row: half a million rows of
    tuples cost Django seconds, four arrays a fraction of that."""
    if connection.vendor != "postgresql":
        return {pk: (uid, category, setting) for pk, uid, category, setting in prompts}
    sql, params = prompts.query.sql_with_params()
    columns = ", ".join(
        f'array_agg(s."{name}" ORDER BY s."pk")' for name in ("pk", "uid", "category", "setting")
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM ({sql}) s", params)
        pks, uids, categories, settings = cursor.fetchone()
    return dict(zip(pks or [], zip(uids or [], categories or [], settings or [], strict=True), strict=True))


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
    # BY_TIME: read oldest first, they may come from rating_campaign_created (annotate.serving_models).
    ratings = Rating.objects.filter(BY_TIME, campaign=campaign, comparison__system_a__isnull=False)
    skip = {name for name in exclude_raters if name}
    if skip:
        ratings = ratings.exclude(rater__username__in=skip)
    if not include_excluded_raters:
        ratings = ratings.exclude(rater_id__in=excluded_rater_ids(campaign=campaign))
    if exclude_gold:
        ratings = ratings.filter(comparison__gold_answer__isnull=True)
    return ratings


def _report_ratings(
    *, campaign: Campaign, exclude_raters: Sequence[str], exclude_gold: bool, include_excluded_raters: bool
) -> QuerySet[Rating]:
    """``campaign_counted_ratings`` oldest first, their texts' style counts stored first (a report reads them)."""
    if comparison_texts_style_missing(campaign=campaign):
        comparison_texts_style_fill(campaign=campaign)
    return campaign_counted_ratings(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    ).order_by("created", "pk")


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
    ratings = _report_ratings(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    if connection.vendor == "postgresql":
        # The time as datetime.isoformat() writes it (Django keeps UTC), made by the server: loading a
        # million datetimes in Python and formatting them costs more than the rest of a row.
        ratings = ratings.annotate(created_iso=RawSQL(_ISO_UTC, ()))
        columns = tuple("created_iso" if name == "created" else name for name in COLUMNS)
        return ratings.values_list(*columns).iterator(chunk_size=CHUNK)
    rows = ratings.values_list(*COLUMNS).iterator(chunk_size=CHUNK)
    at = COLUMNS.index("created")
    return ((*row[:at], row[at].isoformat(), *row[at + 1 :]) for row in rows)


# What a report's arrays (analysis.columns) are read from, each a number: the choice and the gold answer
# as codes of ("a", "b", "tie", "both_bad") (the gold answer -1 when unknown, -2 on a regular item),
# whether system B was on the left, and the style counts (-1 where there are none). No time, no comment:
# no statistic reads them.
ARRAY_FIELDS = (
    "prompt", "system_a", "system_b", "left_b", "choice", "rater", "seconds", "gold_choice", "turn",
    "comparison", *(f"style_{n}" for n in range(8)),
)  # fmt: skip
_CODES = ("a", "b", "tie", "both_bad")
# A rating's time in whole microseconds since 1970 (what PostgreSQL stores): the order's first key.
_MICROSECONDS = '(EXTRACT(EPOCH FROM "annotate_rating"."created") * 1000000)::bigint'


def _coded(field: str, *, unknown: int) -> Cast:
    """``field``'s code in ``_CODES`` (else ``unknown``), cast to bigint: COPY's rows have one width."""
    return Cast(
        Case(
            *(When(**{field: name}, then=Value(code)) for code, name in enumerate(_CODES)),
            default=Value(unknown),
        ),
        BigIntegerField(),
    )


def campaign_rating_arrays(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> dict[str, np.ndarray]:
    """The ratings of ``campaign_rating_rows`` (same filter, same order) as one array per ``ARRAY_FIELDS``
    name, a gold check's choice being the rater's first answer (undo cannot re-answer it).

    On PostgreSQL the rows come as binary COPY, every field an 8-byte number, read by numpy in one go:
    a million rows parse in a blink, where a million Python tuples cost seconds.
    """
    ratings = _report_ratings(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    styles = [f"comparison__texts__{name}" for name in (*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B)]
    annotated = ratings.annotate(
        _left_b=Cast(
            Case(When(comparison__system_on_left="b", then=Value(1)), default=Value(0)), BigIntegerField()
        ),
        _choice=_coded("choice", unknown=3),
        _gold_choice=Cast(
            Case(
                When(comparison__gold_answer__isnull=True, then=Value(-2)),
                default=_coded("comparison__gold_answer", unknown=-1),
                output_field=BigIntegerField(),
            ),
            BigIntegerField(),
        ),
        _seconds=Cast("seconds", FloatField()),  # double precision: 8 bytes
        **{
            f"_style_{n}": Cast(Coalesce(name, Value(-1)), BigIntegerField()) for n, name in enumerate(styles)
        },
        **{f"_{name}": Cast(column, BigIntegerField()) for name, column in _IDS.items()},
    )
    fields = [f"_{name}" for name in ARRAY_FIELDS]
    if connection.vendor == "postgresql":
        # Unsorted, with the sort keys: the database would sort a million joined rows on disk, where
        # numpy sorts two columns of numbers in a blink.
        keyed = annotated.order_by().annotate(
            _created=RawSQL(_MICROSECONDS, ()), _pk=Cast("pk", BigIntegerField())
        )
        arrays = _copied(keyed.values_list(*fields, "_created", "_pk"), [*ARRAY_FIELDS, "created", "pk"])
        order = np.lexsort((arrays.pop("pk"), arrays.pop("created")))
        arrays = {name: values[order] for name, values in arrays.items()}
    else:
        rows = list(annotated.values_list(*fields).iterator(chunk_size=CHUNK))
        table = np.array(rows, dtype=np.float64).reshape(-1, len(ARRAY_FIELDS))
        arrays = {name: table[:, i] for i, name in enumerate(ARRAY_FIELDS)}
    arrays = {name: a if name == "seconds" else a.astype(np.int64) for name, a in arrays.items()}
    first = campaign_gold_first_choices(campaign=campaign)
    for i in np.flatnonzero(arrays["gold_choice"] != -2).tolist():
        answer = first.get((int(arrays["rater"][i]), int(arrays["comparison"][i])))
        if answer in _CODES:
            arrays["choice"][i] = _CODES.index(answer)
    return arrays


_IDS = {
    "prompt": "comparison__prompt_id",
    "system_a": "comparison__system_a_id",
    "system_b": "comparison__system_b_id",
    "rater": "rater_id",
    "turn": "comparison__turn",
    "comparison": "comparison_id",
}


def _copied(numbers: QuerySet[Rating, tuple[Any, ...]], names: Sequence[str]) -> dict[str, np.ndarray]:
    """``numbers`` (no NULL anywhere, every field a bigint but ``seconds``), read by binary COPY, by name."""
    sql, params = numbers.query.sql_with_params()
    fields = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_size", ">i4"), (name, ">f8" if name == "seconds" else ">i8")]
    row = np.dtype(fields)
    buffer = bytearray()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
            for block in copy:
                buffer += block
    # A header (11-byte signature, flags, extension length), the rows, then a 2-byte trailer.
    start = 19 + int.from_bytes(buffer[15:19], "big")
    table = np.frombuffer(memoryview(buffer)[start : len(buffer) - 2], dtype=row)
    return {name: table[name].astype(np.float64 if name == "seconds" else np.int64) for name in names}


def campaign_gold_first_choices(*, campaign: Campaign) -> dict[tuple[int, int], str]:
    """(rater id, comparison id) -> the rater's first answer, for the campaign's gold comparisons."""
    rows = Lease.objects.filter(campaign=campaign, comparison__gold_answer__isnull=False).exclude(
        first_choice=""
    )
    return {
        (rater, comparison): first
        for rater, comparison, first in rows.values_list("rater_id", "comparison_id", "first_choice")
    }
