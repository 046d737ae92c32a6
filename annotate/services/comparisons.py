"""Writing comparisons with their two responses (annotate.models.ComparisonTexts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from annotate.models import Comparison, ComparisonTexts


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
    ComparisonTexts.objects.bulk_create(
        [
            ComparisonTexts(
                comparison=comparison, text_a=text_a, text_b=text_b, history_a=list(ha), history_b=list(hb)
            )
            for comparison, (_, text_a, text_b), (ha, hb) in zip(created, rows, earlier, strict=True)
        ],
        batch_size=batch_size,
    )
    return created
