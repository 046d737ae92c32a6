"""Writing comparisons with their two responses (annotate.models.ComparisonTexts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from annotate.models import Campaign, Comparison, ComparisonTexts, Rating

# Texts read and counts written per batch when counting the rows that have none yet.
STYLE_FILL_BATCH = 2000


@transaction.atomic
def comparisons_create(
    *,
    rows: Sequence[tuple[Comparison, str, str]],
    histories: Sequence[tuple[list[str], list[str]]] | None = None,
    batch_size: int = 500,
) -> list[Comparison]:
    """Insert unsaved comparisons, each with its (text_a, text_b), and return them saved.

    `histories` (one per row, when given) holds each system's answers to the turns before the
    rated one, for a comparison of a conversation's later turn.
    """
    created = Comparison.objects.bulk_create([row[0] for row in rows], batch_size=batch_size)
    earlier = histories if histories is not None else [([], [])] * len(rows)
    texts = [
        ComparisonTexts(
            comparison=comparison, text_a=text_a, text_b=text_b, history_a=list(ha), history_b=list(hb)
        )
        for comparison, (_, text_a, text_b), (ha, hb) in zip(created, rows, earlier, strict=True)
    ]
    # No style counts here: a build of a million comparisons would spend a minute on them, and a report
    # counts the rated ones on first use (comparison_texts_style_fill), as it does for a build by COPY.
    ComparisonTexts.objects.bulk_create(texts, batch_size=batch_size)
    return created


def _style_missing(campaign: Campaign) -> QuerySet[ComparisonTexts]:
    # Only rated comparisons: a report reads no other, and a campaign of a million comparisons built by
    # COPY (annotate.services.comparison_batches) leaves every row to count.
    rated = Rating.objects.filter(campaign=campaign).values("comparison_id")
    return ComparisonTexts.objects.filter(comparison_id__in=rated).filter(
        Q(style_a_length__isnull=True) | Q(style_b_length__isnull=True)
    )


def comparison_texts_style_missing(*, campaign: Campaign) -> bool:
    """Whether a rated comparison of the campaign has texts with no style counts yet."""
    return _style_missing(campaign).exists()


def comparison_texts_style_fill(*, campaign: Campaign) -> int:
    """Count and store the style counts of the campaign's rated texts that have none yet; returns how many.

    Rows written before migration 0014, by COPY at build, or by raw SQL have none: the first report
    that needs them counts them, and every later report reads them. Batched by primary key, so memory
    stays bounded and each batch starts where the last ended.
    """
    missing = _style_missing(campaign).only("comparison_id", "text_a", "text_b").order_by("pk")
    filled, last = 0, 0
    while True:
        batch = list(missing.filter(pk__gt=last)[:STYLE_FILL_BATCH])
        if not batch:
            return filled
        for row in batch:
            row.style_count()
        _style_write(batch)
        filled += len(batch)
        last = batch[-1].pk


def _style_write(rows: Sequence[ComparisonTexts]) -> None:
    """Store the counted rows' eight style counts: one UPDATE from arrays on PostgreSQL, else one per row.

    Not `bulk_update`, whose CASE over every row for every column took PostgreSQL 40 s for 20,000
    rows (two milliseconds a row); the campaign page's first load after many ratings waited on it.
    """
    names = [*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B]
    table = connection.ops.quote_name(ComparisonTexts._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [[row.comparison_id for row in rows]] + [
                [getattr(row, n) for row in rows] for n in names
            ]
            assigned = ", ".join(f"{n} = v.{n}" for n in names)
            arrays = ", ".join(["%s::bigint[]"] + ["%s::integer[]"] * len(names))
            cursor.execute(
                f"UPDATE {table} AS t SET {assigned} FROM unnest({arrays}) AS v(id, {', '.join(names)})"
                " WHERE t.comparison_id = v.id",
                columns,
            )
        else:
            assigned = ", ".join(f"{n} = %s" for n in names)
            params = [(*(getattr(row, n) for n in names), row.comparison_id) for row in rows]
            cursor.executemany(f"UPDATE {table} SET {assigned} WHERE comparison_id = %s", params)
