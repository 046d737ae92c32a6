"""Adaptive serving for stop-when-settled campaigns: open cells only, widest intervals first.

The cells' intervals are computed on the reports' side (reports.sequential_state, one source for the
interval math) and stored on ``SequentialCell`` rows; this module only reads them. For any other
campaign both functions change nothing and cost no query.

Which item a rater gets changes, never what they see: the page, the JSON and the counter are built
the same way whatever cell an item comes from.
"""

from __future__ import annotations

import random

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from annotate.models import Campaign, Comparison, SequentialCell

# Share of the draws spread evenly over the open cells, whatever their widths: every open cell keeps
# being sampled, so a cell that looks narrow by chance early on still gets ratings.
FLOOR_SHARE = 0.2
_rng = random.SystemRandom()


def _closed_cell() -> Exists:
    return Exists(
        SequentialCell.objects.filter(
            campaign_id=OuterRef("campaign_id"),
            system_a_id=OuterRef("system_a_id"),
            system_b_id=OuterRef("system_b_id"),
            category=OuterRef("prompt__category"),
            setting=OuterRef("prompt__setting"),
        ).exclude(closed_rule="")
    )


def open_cells_only(qs: QuerySet[Comparison], *, campaign: Campaign) -> QuerySet[Comparison]:
    """Leave out the regular comparisons of closed cells (gold checks stay)."""
    if not campaign.stop_when_settled:
        return qs
    return qs.exclude(Q(gold_answer__isnull=True) & _closed_cell())


def cell_weights(widths: list[float], *, floor_share: float = FLOOR_SHARE) -> list[float]:
    """Draw probabilities: ``floor_share`` spread evenly, the rest in proportion to the widths."""
    k = len(widths)
    if k == 0:
        return []
    total = sum(widths)
    if total <= 0:
        return [1.0 / k] * k
    return [floor_share / k + (1.0 - floor_share) * w / total for w in widths]


def adaptive_rank(
    qs: QuerySet[Comparison], *, campaign: Campaign, rng: random.Random | None = None
) -> QuerySet[Comparison]:
    """Annotate ``cell_rank``: 0 for the comparisons of one open cell drawn by width, 1 for the rest.

    Campaigns that do not stop when settled (or have no open cell yet) get no annotation: a
    constant would be ordered by as "ORDER BY 0", which PostgreSQL reads as a column position.

    Serving orders by it before the rater's own order, so the next item comes from the drawn cell
    when it has one for this rater, and from any other open cell otherwise.
    """
    if not campaign.stop_when_settled:
        return qs
    cells = list(
        SequentialCell.objects.filter(campaign=campaign, closed_rule="").values_list(
            "system_a_id", "system_b_id", "category", "setting", "ci_low", "ci_high"
        )
    )
    if not cells:
        return qs
    weights = cell_weights([high - low for *_, low, high in cells])
    a, b, category, setting, _, _ = (rng or _rng).choices(cells, weights=weights)[0]
    drawn = Q(system_a_id=a, system_b_id=b, prompt__category=category, prompt__setting=setting)
    return qs.annotate(
        cell_rank=Case(When(drawn, then=Value(0)), default=Value(1), output_field=IntegerField())
    )
