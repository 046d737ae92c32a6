"""Adaptive serving for stop-when-settled campaigns: open cells only, the least certain most often.

The cells' intervals are computed by settling (annotate.settling, with analysis.settling: one source for the
interval math) and stored on ``SequentialCell`` rows, with, for more than two systems, each pair's
Bradley-Terry uncertainty; this module only reads them. The draw rules are pure
(analysis.pair_weights). For any other campaign both functions change nothing and cost no query.

Which item a rater gets changes, never what they see: the page, the JSON and the counter are built
the same way whatever cell an item comes from.
"""

from __future__ import annotations

import random
from typing import Any

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from analysis.pair_weights import FLOOR_SHARE, cell_weights, pair_weights
from annotate.models import Campaign, Comparison, SequentialCell

__all__ = ["FLOOR_SHARE", "adaptive_rank", "cell_groups", "cell_weights", "draw_cell", "open_cells_only"]

_rng = random.SystemRandom()

Cell = tuple[int, int, str, str]  # (system_a_id, system_b_id, category, setting)


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


def _cell_rows(campaign: Campaign) -> list[tuple[Any, ...]]:
    """The cells a refresh has written (``share`` > 0; before the first, serving draws no cell), each as
    (pk, system_a_id, system_b_id, category, setting, ci_low, ci_high, ratings, pair_se, closed_rule)."""
    return list(
        SequentialCell.objects.filter(campaign=campaign, share__gt=0).values_list(
            "pk", "system_a_id", "system_b_id", "category", "setting", "ci_low", "ci_high", "ratings",
            "pair_se", "closed_rule",
        )
    )  # fmt: skip


def _draw(rows: list[tuple[Any, ...]], rng: random.Random) -> tuple[tuple[Any, ...], bool] | None:
    """The drawn open row of ``_cell_rows`` and whether it was drawn through its pair (``draw_cell``)."""
    open_rows = [row for row in rows if not row[9]]
    if not open_rows:
        return None
    pairs = sorted({(row[1], row[2]) for row in open_rows})
    by_pair = len(pairs) > 1 and all(row[8] is not None for row in open_rows)
    if by_pair:
        # A pair's ratings count its closed cells too: they are part of what the fit knows.
        counts = dict.fromkeys(pairs, 0)
        for row in rows:
            if (row[1], row[2]) in counts:
                counts[(row[1], row[2])] += row[7]
        ses = {(row[1], row[2]): float(row[8] or 0.0) for row in open_rows}
        weights = pair_weights([ses[p] for p in pairs], [counts[p] for p in pairs])
        pair = rng.choices(pairs, weights=weights)[0]
        open_rows = [row for row in open_rows if (row[1], row[2]) == pair]
    weights = cell_weights([max(row[6] - row[5], 0.0) for row in open_rows])
    return rng.choices(open_rows, weights=weights)[0], by_pair


def draw_cell(*, campaign: Campaign, rng: random.Random | None = None) -> tuple[Cell, bool] | None:
    """The open cell serving prefers now, and whether it was drawn through its pair (more than two systems).

    One pair: a cell in proportion to its interval width (``cell_weights``). Several pairs whose
    Bradley-Terry uncertainty the updater stored: first a pair (``pair_weights``: the least certain
    comparisons most often, every open pair sometimes), then a cell of that pair by width.
    """
    drawn = _draw(_cell_rows(campaign), rng or _rng)
    if drawn is None:
        return None
    (_pk, a, b, category, setting, *_), by_pair = drawn
    return (a, b, category, setting), by_pair


def cell_groups(*, campaign: Campaign, rng: random.Random | None = None) -> list[list[int]] | None:
    """The open cells serving looks in, by id, group after group, in the order ``adaptive_rank`` ranks them.

    The drawn cell (``draw_cell``); with several pairs drawn by Bradley-Terry uncertainty, the drawn
    pair's other open cells; then every other open cell. Each group's items come in the rater's own
    order (annotate.picking walks each cell's index). None before the first refresh, when serving draws
    no cell and no cell is closed; an empty list when every cell is closed.
    """
    rows = _cell_rows(campaign)
    if not rows:
        return None
    drawn = _draw(rows, rng or _rng)
    if drawn is None:
        return []
    row, by_pair = drawn
    open_rows = [r for r in rows if not r[9] and r[0] != row[0]]
    pair = [r[0] for r in open_rows if (r[1], r[2]) == (row[1], row[2])] if by_pair else []
    rest = [r[0] for r in open_rows if r[0] not in pair]
    return [group for group in ([row[0]], pair, rest) if group]


def adaptive_rank(
    qs: QuerySet[Comparison], *, campaign: Campaign, rng: random.Random | None = None
) -> QuerySet[Comparison]:
    """Annotate ``cell_rank``: 0 for the comparisons of the drawn open cell (``draw_cell``), 1 for the rest.

    With several pairs drawn by Bradley-Terry uncertainty, 1 is the rest of the drawn pair and 2 the
    rest, so a rater with nothing left in the drawn cell still helps the drawn pair first.

    Campaigns that do not stop when settled (or have no open cell yet) get no annotation: a
    constant would be ordered by as "ORDER BY 0", which PostgreSQL reads as a column position.

    Serving orders by it before the rater's own order, so the next item comes from the drawn cell
    when it has one for this rater, and from any other open cell otherwise.
    """
    if not campaign.stop_when_settled:
        return qs
    drawn = draw_cell(campaign=campaign, rng=rng)
    if drawn is None:
        return qs
    (a, b, category, setting), by_pair = drawn
    in_pair = Q(system_a_id=a, system_b_id=b)
    ranks = [When(in_pair & Q(prompt__category=category, prompt__setting=setting), then=Value(0))]
    if by_pair:
        ranks.append(When(in_pair, then=Value(1)))
    return qs.annotate(
        cell_rank=Case(*ranks, default=Value(2 if by_pair else 1), output_field=IntegerField())
    )
