"""Writing comparisons with their two responses (annotate.models.ComparisonTexts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from annotate.models import Comparison, ComparisonTexts


@transaction.atomic
def comparisons_create(
    *, rows: Sequence[tuple[Comparison, str, str]], batch_size: int = 500
) -> list[Comparison]:
    """Insert unsaved comparisons, each with its (text_a, text_b), and return them saved."""
    created = Comparison.objects.bulk_create([row[0] for row in rows], batch_size=batch_size)
    ComparisonTexts.objects.bulk_create(
        [
            ComparisonTexts(comparison=comparison, text_a=text_a, text_b=text_b)
            for comparison, (_, text_a, text_b) in zip(created, rows, strict=True)
        ],
        batch_size=batch_size,
    )
    return created
