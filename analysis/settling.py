"""Stop when settled: the ``sequential`` block (anytime-valid intervals overall and per category x
setting cell) and the rules that close a cell and a campaign.

Pure (no Django). The campaign page, settling (annotate.settling) and the report call the same
``sequential_block``, so the interval a page shows, the one that closed a cell and the one the report
gives are one computation. Gold checks are left out: their answer is known, and they are not part of
the sampled evaluation set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.columns import RatingColumns, Ratings, as_columns
from analysis.stats import sequential as seq
from analysis.stats.planning import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, DEFAULT_POWER, plan_block

Cell = tuple[str, str]  # (category, setting)


@dataclass(frozen=True)
class StopDesign:
    """A campaign's stopping rules and plan: what settles a cell (precision, equivalence margin), the
    cap on ratings, and the plan (minimum effect, power, alpha; alpha is also the interval's level)."""

    precision: float | None = None
    equivalence_margin: float | None = None
    max_ratings: int | None = None
    min_effect: float = DEFAULT_MIN_EFFECT
    power: float = DEFAULT_POWER
    alpha: float = DEFAULT_ALPHA


CAP = "cap"

ALL_CELLS_CLOSED = "all_cells_closed"
RULE_TEXT = {
    "decided_candidate": "decided: the candidate is preferred (the interval lies above 0.5)",
    "decided_baseline": "decided: the baseline is preferred (the interval lies below 0.5)",
    "precise": "precise enough: the interval is narrower than the campaign's precision",
    ALL_CELLS_CLOSED: "every cell closed",
    "all_cells_decided_candidate": "decided: every cell's interval lies above 0.5 (the candidate is preferred)",
    "all_cells_decided_baseline": "decided: every cell's interval lies below 0.5 (the baseline is preferred)",
    "decided_all_pairs": "decided: every pair's interval excludes 0.5",
    "equivalent": "no meaningful difference: the interval lies inside 0.5 ± the equivalence margin",
    "all_cells_equivalent": "no meaningful difference: every cell's interval lies inside 0.5 ± the margin",
    "settled_all_pairs": "settled: every pair's interval excludes 0.5 or lies inside 0.5 ± the margin",
    CAP: "not settled: the cap on ratings was reached before the interval settled",
}


def stop_reason(rule: str | None) -> str | None:
    """The report's ``stopped``: "cap", "equivalent" (no meaningful difference), "settled", or None
    (still running) for a closure rule."""
    if not rule:
        return None
    if rule == CAP:
        return CAP
    return "equivalent" if rule.endswith("equivalent") else "settled"


def rule_text(rule: str) -> str:
    """A closure rule in words, for the campaign page."""
    return RULE_TEXT.get(rule, rule.replace("_", " "))


def campaign_rule(
    *, blocks: Sequence[Mapping[str, Any]], cell_rules: Sequence[str], max_ratings: int | None = None
) -> str | None:
    """Why the campaign stops now, or None: from every compared pair's block and every cell's closure
    rule ("" for an open cell), then the cap.

    One pair: its share-weighted interval settled. Several: every pair's did. Or every cell closed; when
    they all decided the same way (or all lie inside the equivalence band) that holds for the
    share-weighted rate too (were that rate on the other side of 0.5, or outside the band, some cell's
    would be, and it errs with chance <= alpha). Otherwise, ``max_ratings`` ratings or more: "cap".
    """
    rules = [str(block["rule"] or "") for block in blocks]
    if len(rules) == 1 and rules[0]:
        return rules[0]
    if len(rules) > 1 and all(rules):
        if all(rule == "equivalent" for rule in rules):
            return "equivalent"
        return "decided_all_pairs" if all(r.startswith("decided_") for r in rules) else "settled_all_pairs"
    if cell_rules and all(cell_rules):
        kinds = set(cell_rules)
        only = next(iter(kinds))
        same = len(kinds) == 1 and (only.startswith("decided_") or only == "equivalent")
        return f"all_cells_{only}" if same else ALL_CELLS_CLOSED
    if max_ratings is not None and sum(int(block["ratings"]) for block in blocks) >= max_ratings:
        return CAP
    return None


def shares_from_records(records: Ratings) -> dict[Cell, float]:
    """Each cell's share of the distinct prompts rated: the weighting when no evaluation set is known."""
    columns = as_columns(records)
    return _shares(columns, np.ones(len(columns), dtype=bool))


def _cells(columns: RatingColumns) -> np.ndarray:
    """Each rating's (category, setting) cell as one code."""
    return columns.category * max(len(columns.settings), 1) + columns.setting


def _shares(columns: RatingColumns, mask: np.ndarray) -> dict[Cell, float]:
    """``shares_from_records`` of the ratings where ``mask`` holds (prompts by their id alone)."""
    n_prompts = max(len(columns.prompt_ids), 1)
    pairs = np.unique(_cells(columns)[mask] * n_prompts + columns.prompt_id_codes[mask])
    per_cell = np.unique(pairs // n_prompts, return_counts=True)
    width = max(len(columns.settings), 1)
    prompts = {
        (columns.categories[code // width], columns.settings[code % width]): count
        for code, count in zip(per_cell[0].tolist(), per_cell[1].tolist(), strict=True)
    }
    total = sum(prompts.values())
    return {cell: count / total for cell, count in sorted(prompts.items())} if total else {}


def sequential_block(
    *,
    records: Ratings,
    baseline: str,
    candidate: str,
    cell_shares: Mapping[Cell, float] | None = None,
    precision: float | None = None,
    design: StopDesign | None = None,
) -> dict[str, Any]:
    """The contract block for ``candidate`` against ``baseline``, records taken in the order given.

    ``cell_shares`` is each (category, setting) cell's share of the evaluation set (a campaign's);
    without it, shares of the prompts rated. A cell rated but missing from the shares gets none.
    ``design`` holds a campaign's stopping rules and plan (``precision`` alone is the older shorthand).
    ``stopped`` is what these ratings say; a campaign's report replaces it with the campaign's record.
    """
    design = design or StopDesign(precision=precision)
    alpha, margin = design.alpha, design.equivalence_margin
    columns = as_columns(records)
    pair = columns.pair_mask(baseline, candidate) & ~columns.gold
    shares = dict(cell_shares) if cell_shares else _shares(columns, pair)
    cells = list(shares)
    width = max(len(columns.settings), 1)
    index = np.full(max(len(columns.categories), 1) * width, -1, dtype=np.int64)
    for i, (category, setting) in enumerate(cells):
        if category in columns.categories and setting in columns.settings:
            index[columns.categories.index(category) * width + columns.settings.index(setting)] = i
    cell_of = index[_cells(columns)[pair]] if len(columns) else np.zeros(0, dtype=np.int64)
    counted = cell_of >= 0
    ratings = dict(zip(cells, np.bincount(cell_of[counted], minlength=len(cells)).tolist(), strict=True))
    voted = counted & columns.decisive[pair]
    stream_cells = cell_of[voted]
    stream_votes = (columns.chosen[pair][voted] == columns.system_code(candidate)).astype(np.float64)
    per_cell = {cell: stream_votes[stream_cells == i] for i, cell in enumerate(cells)}
    by_cell: list[dict[str, Any]] = []
    for cell in cells:
        votes = per_cell[cell]
        low, high = (0.0, 1.0)
        if len(votes):
            lows, highs = seq.running_interval(votes, alpha=alpha)
            low, high = float(lows[-1]), float(highs[-1])
        by_cell.append(
            {
                "category": cell[0],
                "setting": cell[1],
                "share": shares[cell],
                "ratings": ratings[cell],
                "decisive": len(votes),
                "wins": int(votes.sum()),
                "preference_rate": float(votes.sum()) / len(votes) if len(votes) else None,
                "ci_low": low,
                "ci_high": high,
                "decided": _decided(low, high, margin),
                "rule": seq.settled_rule(low, high, precision=design.precision, equivalence_margin=margin),
            }
        )
    total_share = sum(shares.values())
    low, high = 0.0, 1.0
    if cells and total_share > 0 and len(stream_votes):
        lows, highs = seq.weighted_running_interval(
            stream_cells, stream_votes, [shares[c] / total_share for c in cells], alpha=alpha
        )
        low, high = float(lows[-1]), float(highs[-1])
    # The point estimate: share-weighted over the cells that have a vote (renormalised).
    rated = [(float(c["share"]), float(c["preference_rate"])) for c in by_cell if c["decisive"]]
    rated_share = sum(share for share, _ in rated)
    estimate = sum(share * rate for share, rate in rated) / rated_share if rated_share > 0 else None
    rule = seq.settled_rule(low, high, precision=design.precision, equivalence_margin=margin)
    total_ratings = sum(ratings.values())
    stopped = stop_reason(rule)
    if stopped is None and design.max_ratings is not None and total_ratings >= design.max_ratings:
        stopped = CAP  # the rule stays the interval's own: a campaign's cap counts all its pairs
    return {
        "method": seq.method_text(alpha),
        "weighting": seq.WEIGHTED_METHOD,
        "alpha": alpha,
        "t_opt": seq.T_OPT,
        "precision": design.precision,
        "equivalence_margin": margin,
        "max_ratings": design.max_ratings,
        "baseline": baseline,
        "candidate": candidate,
        "ratings": total_ratings,
        "decisive": len(stream_votes),
        "preference_rate_weighted": estimate,
        "ci_low": low,
        "ci_high": high,
        "decided": _decided(low, high, margin),
        "rule": rule,
        "stopped": stopped,
        "plan": plan_block(
            min_effect=design.min_effect,
            power=design.power,
            alpha=alpha,
            shares=[shares[c] for c in cells] or [1.0],
            ratings=total_ratings,
            decisive=len(stream_votes),
            estimate=estimate,
        ),
        "by_cell": by_cell,
    }


def _decided(low: float, high: float, margin: float | None) -> str | None:
    """``decided``: "candidate" or "baseline" (the interval excludes 0.5), "equivalent" (it lies inside
    0.5 +- the margin), or None."""
    if seq.equivalent(low, high, margin=margin):
        return "equivalent"
    return seq.decision(low, high)
