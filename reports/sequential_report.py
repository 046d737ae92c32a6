"""The report's ``sequential`` block: anytime-valid intervals overall and per category x setting cell.

Pure (no Django). The campaign page and the stop-when-settled bookkeeping (reports.sequential_state)
call the same ``sequential_block``, so the interval a page shows, the one that closed a cell and the
one the report gives are one computation. Gold checks are left out: their answer is known, and they
are not part of the sampled evaluation set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.records import RatingRecord
from reports.stats import sequential as seq

Cell = tuple[str, str]  # (category, setting)


def _outcome(record: RatingRecord, candidate: str) -> float | None:
    """1.0 when the candidate won, 0.0 when it lost, None for a tie or both bad."""
    chosen = {"a": record.system_a, "b": record.system_b}.get(record.choice)
    if chosen is None:
        return None
    return 1.0 if chosen == candidate else 0.0


def shares_from_records(records: Sequence[RatingRecord]) -> dict[Cell, float]:
    """Each cell's share of the distinct prompts rated: the weighting when no evaluation set is known."""
    prompts: dict[Cell, set[str]] = {}
    for r in records:
        prompts.setdefault((r.category, r.setting), set()).add(r.prompt_id)
    total = sum(len(p) for p in prompts.values())
    return {cell: len(p) / total for cell, p in sorted(prompts.items())} if total else {}


def sequential_block(
    *,
    records: Sequence[RatingRecord],
    baseline: str,
    candidate: str,
    cell_shares: Mapping[Cell, float] | None = None,
    precision: float | None = None,
) -> dict[str, Any]:
    """The contract block for ``candidate`` against ``baseline``, records taken in the order given.

    ``cell_shares`` is each (category, setting) cell's share of the evaluation set (a campaign's);
    without it, shares of the prompts rated. A cell rated but missing from the shares gets none.
    """
    pair = [r for r in records if {r.system_a, r.system_b} == {baseline, candidate} and not r.is_gold]
    shares = dict(cell_shares) if cell_shares else shares_from_records(pair)
    cells = list(shares)
    index = {cell: i for i, cell in enumerate(cells)}
    per_cell: dict[Cell, list[float]] = {cell: [] for cell in cells}
    ratings = {cell: 0 for cell in cells}
    stream_cells: list[int] = []
    stream_votes: list[float] = []
    for r in pair:
        cell = (r.category, r.setting)
        if cell not in index:
            continue
        ratings[cell] += 1
        vote = _outcome(r, candidate)
        if vote is not None:
            per_cell[cell].append(vote)
            stream_cells.append(index[cell])
            stream_votes.append(vote)
    by_cell: list[dict[str, Any]] = []
    for cell in cells:
        votes = per_cell[cell]
        low, high = (0.0, 1.0)
        if votes:
            lows, highs = seq.running_interval(votes)
            low, high = float(lows[-1]), float(highs[-1])
        by_cell.append(
            {
                "category": cell[0],
                "setting": cell[1],
                "share": shares[cell],
                "ratings": ratings[cell],
                "decisive": len(votes),
                "wins": int(sum(votes)),
                "preference_rate": sum(votes) / len(votes) if votes else None,
                "ci_low": low,
                "ci_high": high,
                "decided": seq.decision(low, high),
                "rule": seq.settled_rule(low, high, precision=precision),
            }
        )
    total_share = sum(shares.values())
    low, high = 0.0, 1.0
    if cells and total_share > 0 and stream_votes:
        lows, highs = seq.weighted_running_interval(
            stream_cells, stream_votes, [shares[c] / total_share for c in cells]
        )
        low, high = float(lows[-1]), float(highs[-1])
    # The point estimate: share-weighted over the cells that have a vote (renormalised).
    rated = [(float(c["share"]), float(c["preference_rate"])) for c in by_cell if c["decisive"]]
    rated_share = sum(share for share, _ in rated)
    estimate = sum(share * rate for share, rate in rated) / rated_share if rated_share > 0 else None
    return {
        "method": seq.METHOD,
        "weighting": seq.WEIGHTED_METHOD,
        "alpha": seq.ALPHA,
        "t_opt": seq.T_OPT,
        "precision": precision,
        "baseline": baseline,
        "candidate": candidate,
        "ratings": sum(ratings.values()),
        "decisive": len(stream_votes),
        "preference_rate_weighted": estimate,
        "ci_low": low,
        "ci_high": high,
        "decided": seq.decision(low, high),
        "rule": seq.settled_rule(low, high, precision=precision),
        "by_cell": by_cell,
    }
