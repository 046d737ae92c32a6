"""Stop when settled: the ``sequential`` block (anytime-valid intervals overall and per category x
setting cell) and the rules that close a cell and a campaign.

Pure (no Django). The campaign page, settling (annotate.settling) and the report call the same
``sequential_block``, so the interval a page shows, the one that closed a cell and the one the report
gives are one computation. Gold checks are left out: their answer is known, and they are not part of
the sampled evaluation set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.records import RatingRecord
from analysis.stats import sequential as seq

Cell = tuple[str, str]  # (category, setting)

ALL_CELLS_CLOSED = "all_cells_closed"
RULE_TEXT = {
    "decided_candidate": "decided: the candidate is preferred (the interval lies above 0.5)",
    "decided_baseline": "decided: the baseline is preferred (the interval lies below 0.5)",
    "precise": "precise enough: the interval is narrower than the campaign's precision",
    ALL_CELLS_CLOSED: "every cell closed",
    "all_cells_decided_candidate": "decided: every cell's interval lies above 0.5 (the candidate is preferred)",
    "all_cells_decided_baseline": "decided: every cell's interval lies below 0.5 (the baseline is preferred)",
    "decided_all_pairs": "decided: every pair's interval excludes 0.5",
}


def rule_text(rule: str) -> str:
    """A closure rule in words, for the campaign page."""
    return RULE_TEXT.get(rule, rule.replace("_", " "))


def campaign_rule(*, blocks: Sequence[Mapping[str, Any]], cell_rules: Sequence[str]) -> str | None:
    """Why the campaign settles now, or None: from every compared pair's block and every cell's closure
    rule ("" for an open cell).

    One pair: its share-weighted interval settled. Several: every pair's did. Or every cell closed; when
    they all decided the same way that is a valid decision for the share-weighted rate too (were that
    rate on the other side of 0.5, some cell's would be, and it errs with chance <= alpha).
    """
    if len(blocks) == 1 and blocks[0]["rule"]:
        return str(blocks[0]["rule"])
    if len(blocks) > 1 and all(block["rule"] for block in blocks):
        return "decided_all_pairs"
    if cell_rules and all(cell_rules):
        rules = set(cell_rules)
        only = next(iter(rules))
        return f"all_cells_{only}" if len(rules) == 1 and only.startswith("decided_") else ALL_CELLS_CLOSED
    return None


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
    pair = [r for r in records if r.pair == {baseline, candidate} and not r.is_gold]
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
        vote = r.vote_for(candidate)
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
