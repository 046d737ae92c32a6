"""Writing comparisons with their two responses (annotate.models.ComparisonTexts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from annotate.models import Campaign, Comparison, ComparisonTexts

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
    for row in texts:
        row.style_count()  # once, here, rather than in every report
    ComparisonTexts.objects.bulk_create(texts, batch_size=batch_size)
    return created


def comparison_texts_style_fill(*, campaign: Campaign) -> int:
    """Count and store the style counts of the campaign's texts that have none yet; returns how many.

    Rows written before migration 0015 (or by raw SQL) have none: the first report that needs them
    counts them, and every later report reads them. Batched, so memory stays bounded.
    """
    missing = ComparisonTexts.objects.filter(
        comparison__campaign=campaign, style_a_length__isnull=True
    ) | ComparisonTexts.objects.filter(comparison__campaign=campaign, style_b_length__isnull=True)
    filled = 0
    while True:
        batch = list(missing.only("comparison_id", "text_a", "text_b").order_by("pk")[:STYLE_FILL_BATCH])
        if not batch:
            return filled
        for row in batch:
            row.style_count()
        ComparisonTexts.objects.bulk_update(batch, [*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B])
        filled += len(batch)
