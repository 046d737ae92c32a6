"""How much of a preference is style: the report's style-controlled figures, from rating records.

One global fit (every system, every rating) gives the top-level ``style_control`` block and the
``style_controlled`` rate of the overall and pairwise blocks; each category and setting block gets a
fit on its own ratings. Comparisons are oriented as the rater saw them (left against right), as
Chatbot Arena's battles are (model_a is the left answer there), so the standardised features have
mean zero by design and a rating difference is the preference between answers of equal style.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.columns import RatingColumns, Ratings, as_columns, systems_in_order
from analysis.stats.proportion import finite_or_none, wilson_interval
from analysis.stats.style import (
    FEATURES,
    LN10,
    STYLE_REG,
    StyleFit,
    style_fit_arrays,
)

# Fewer decisive votes than this and a style-controlled rate is not given: with four coefficients to
# estimate besides the ratings, a handful of votes would let the L2 penalty decide the answer.
MIN_DECISIVE = 20
# With (almost) every decisive vote one way the likelihood has no finite optimum and the L2 penalty,
# not the data, would set the rate: a block needs this many decisive votes each way.
MIN_EACH_WAY = 3
METHOD = "contextual_bradley_terry_fastchat"
METHOD_TEXT = (
    "Style control (Chatbot Arena's method, FastChat's contextual Bradley-Terry): logit P(left beats right) = "
    "ln 10 x (r_left - r_right) + sum_k gamma_k f_k, outcome 1, 1/2 (tie or both bad) or 0, loss = binary "
    f"cross-entropy + ({STYLE_REG} / 2) ||(r, gamma)||^2, solved to convergence. Features per answer: length "
    "in characters and, outside code fences, Markdown headers, list items and bold spans; per comparison "
    "(left - right) / (left + right + 1), standardised. A coefficient is the change in log-odds of being "
    "preferred per standard deviation of that difference. The style-controlled rate is the candidate's "
    "chance to beat the baseline when both answers have the same style (ties as half), from the global fit "
    "for the overall and pairwise blocks and from a fit on their own ratings for each category and setting; "
    "95 % percentile intervals from the prompt bootstrap (1,000 rounds, each round a Newton solve started "
    f"from the full-data optimum). Not given with fewer than {MIN_DECISIVE} decisive votes, fewer than "
    f"{MIN_EACH_WAY} each way, or without the answers' texts."
)
REFERENCE = (
    "Li, T., Angelopoulos, A., Chiang, W.-L. et al. (2024). Does style matter? Disentangling style and substance "
    "in Chatbot Arena. LMSYS blog; FastChat fastchat/serve/monitor/rating_systems.py."
)
# Length ratio bins (candidate / baseline, in characters) for the win-rate-by-length figure.
LENGTH_BINS = (0.0, 0.5, 0.8, 1.25, 2.0, math.inf)


class StyleArrays:
    """A report's ratings as the style fits read them, oriented left against right: the global fit and
    every category's and setting's fit select their rows from these arrays."""

    def __init__(self, columns: RatingColumns, systems: Sequence[str]):
        assert columns.style_a is not None and columns.style_b is not None
        position = np.array(
            [list(systems).index(n) if n in systems else -1 for n in columns.systems], np.intp
        )
        left_b = columns.left_b
        self.systems = list(systems)
        self.pairs = np.stack(
            [
                position[np.where(left_b, columns.system_b, columns.system_a)],
                position[np.where(left_b, columns.system_a, columns.system_b)],
            ],
            axis=1,
        ).reshape(-1, 2)
        # 1 when the left answer won, 0 when it lost, 1/2 for a tie or both bad.
        self.outcomes = np.where(columns.decisive, columns.left_won.astype(np.float64), 0.5)
        flip = left_b[:, None]
        self.left = (
            np.where(flip, columns.style_b, columns.style_a).astype(np.float64).reshape(-1, len(FEATURES))
        )
        self.right = (
            np.where(flip, columns.style_a, columns.style_b).astype(np.float64).reshape(-1, len(FEATURES))
        )
        self.unit_of = columns.units.astype(np.intp)
        self.groups = {
            "category": (columns.category, columns.categories),
            "setting": (columns.setting, columns.settings),
        }
        self._fits: dict[tuple[int, int], StyleFit] = {}

    def fit(self, rounds: int, seed: int, field: str | None = None, group: str | None = None) -> StyleFit:
        """The fit of every record, or of those whose ``field`` is ``group``."""
        if field is None:
            if (rounds, seed) not in self._fits:
                self._fits[rounds, seed] = self._fit_all(rounds, seed)
            return self._fits[rounds, seed]
        codes, names = self.groups[field]
        mask = codes == (names.index(group) if group in names else -1)
        if mask.all() and np.isin(np.arange(len(self.systems)), self.pairs).all():
            # Every rating, every system (a campaign of one setting): the very inputs of the global fit.
            return self.fit(rounds, seed)
        return self._fit_some(rounds, seed, mask)

    def _fit_all(self, rounds: int, seed: int) -> StyleFit:
        return style_fit_arrays(
            n_systems=len(self.systems),
            systems=self.systems,
            pairs=self.pairs,
            outcomes=self.outcomes,
            counts_a=self.left,
            counts_b=self.right,
            unit_of=self.unit_of,
            rounds=rounds,
            seed=seed,
        )

    def _fit_some(self, rounds: int, seed: int, mask: np.ndarray) -> StyleFit:
        pairs = self.pairs[mask]
        named = np.zeros(len(self.systems), dtype=bool)
        named[pairs.ravel()] = True
        present = [name for name, here in zip(self.systems, named, strict=True) if here]
        renumber = np.cumsum(named) - 1  # a present system's position among the present ones
        # The subset's prompts renumbered in order of first appearance, as style_fit numbers them.
        units = self.unit_of[mask]
        distinct, first = np.unique(units, return_index=True)
        rank = np.empty(len(distinct), dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(len(distinct))
        return style_fit_arrays(
            n_systems=len(present),
            systems=present,
            pairs=renumber[pairs],
            outcomes=self.outcomes[mask],
            counts_a=self.left[mask],
            counts_b=self.right[mask],
            unit_of=rank[np.searchsorted(distinct, units)],
            rounds=rounds,
            seed=seed,
        )


def _interval(draws: np.ndarray) -> tuple[float | None, float | None]:
    if draws.size == 0:
        return None, None
    low, high = np.percentile(draws, [2.5, 97.5])
    return finite_or_none(low), finite_or_none(high)


def rate_block(fit: StyleFit, candidate: str, baseline: str) -> dict[str, Any]:
    point, draws = fit.rate(candidate, baseline)
    low, high = _interval(draws)
    return {"rate": finite_or_none(point), "ci_low": low, "ci_high": high}


def fit_block(fit: StyleFit, rounds: int) -> dict[str, Any]:
    """The top-level ``style_control`` block of one fit."""
    k = len(fit.systems)
    coefficient_ci = {}
    for i, name in enumerate(FEATURES):
        low, high = _interval(fit.boot[:, k + i])
        coefficient_ci[name] = [low, high]
    scores = []
    for i, name in enumerate(fit.systems):
        low, high = _interval(LN10 * fit.boot[:, i])
        scores.append(
            {"name": name, "score": finite_or_none(LN10 * fit.theta[i]), "ci_low": low, "ci_high": high}
        )
    scores.sort(key=lambda row: -float(row["score"] or 0.0))
    block = {
        "method": METHOD,
        "features": list(FEATURES),
        "coefficients": {name: finite_or_none(fit.theta[k + i]) for i, name in enumerate(FEATURES)},
        "coefficient_ci": coefficient_ci,
        "systems": scores,
        "n": fit.n,
        "bootstrap_rounds": rounds,
        "bootstrap_residual_sd": fit.bootstrap_residual,
        "reference": REFERENCE,
    }
    if fit.normal_limit:
        block["bootstrap_draws"] = (
            "normal limit: with this many prompts each round's count-weighted sums are drawn from their normal "
            "limit (exact mean and covariance of the multinomial resample), not from drawn counts"
        )
    return block


def block_refusal(block: dict[str, Any]) -> str | None:
    """Why a preference block gets no style-controlled rate from its votes; None when it gets one."""
    if block["decisive"] < MIN_DECISIVE:
        return f"fewer than {MIN_DECISIVE} decisive votes"
    if min(block["wins"], block["losses"]) < MIN_EACH_WAY:
        return f"fewer than {MIN_EACH_WAY} decisive votes each way"
    return None


def _allowed(block: dict[str, Any]) -> bool:
    reason = block_refusal(block)
    if reason is not None:
        block["style_controlled_refused"] = reason
    return reason is None


def style_control_add(
    *,
    report: dict[str, Any],
    records: Ratings,
    systems: Sequence[str],
    rounds: int,
    seed: int,
) -> None:
    """Fill ``style_control`` (or ``style_control_refused``) and every block's ``style_controlled``."""
    columns = as_columns(records)
    baseline, candidate = report["baseline"], report["candidate"]
    blocks = [report["overall"], *report["by_category"].values(), *report["by_setting"].values()]
    blocks += report.get("by_turn", {}).values()
    blocks += report.get("by_pair", [])
    for block in blocks:
        block["style_controlled"] = None
    report["style_control"] = None
    report["length_ratio"] = None
    if columns.style_a is None:
        report["style_control_refused"] = "the ratings do not carry both answers' texts (text_a, text_b)"
        return
    report["length_ratio"] = length_ratio_block(records=columns, baseline=baseline, candidate=candidate)
    if int(columns.decisive.sum()) < MIN_DECISIVE:
        report["style_control_refused"] = f"fewer than {MIN_DECISIVE} decisive votes"
        return
    arrays = StyleArrays(columns, systems)
    fit = arrays.fit(rounds, seed)
    report["style_control"] = fit_block(fit, rounds)
    if _allowed(report["overall"]):
        report["overall"]["style_controlled"] = rate_block(fit, candidate, baseline)
    for block in report.get("by_pair", []):
        if _allowed(block):
            block["style_controlled"] = rate_block(fit, block["candidate"], block["baseline"])
    for field in ("category", "setting"):
        for group, block in report[f"by_{field}"].items():
            if not _allowed(block):
                continue
            block["style_controlled"] = rate_block(
                arrays.fit(rounds, seed, field, group), candidate, baseline
            )


def pair_style_rates(
    *, records: Ratings, estimates: Sequence[dict[str, Any]], rounds: int, seed: int = 0
) -> None:
    """Add ``style_controlled`` (or ``style_controlled_refused``) to each of a campaign's pair estimates.

    ``estimates`` are ``analysis.report.pair_estimates`` blocks; one global fit serves them all, as
    for the report's pairwise blocks.
    """
    columns = as_columns(records)
    for block in estimates:
        block["style_controlled"] = None
    if columns.style_a is None or int(columns.decisive.sum()) < MIN_DECISIVE:
        reason = "no answer texts" if columns.style_a is None else f"fewer than {MIN_DECISIVE} decisive votes"
        for block in estimates:
            block["style_controlled_refused"] = reason
        return
    fit = StyleArrays(columns, systems_in_order(columns)).fit(rounds, seed)
    for block in estimates:
        if _allowed(block):
            block["style_controlled"] = rate_block(fit, block["candidate"], block["baseline"])


def length_ratio_block(*, records: Ratings, baseline: str, candidate: str) -> dict[str, Any]:
    """The candidate's decisive win rate by its answer's length relative to the baseline's (Wilson 95 %)."""
    columns = as_columns(records)
    assert columns.style_a is not None and columns.style_b is not None
    pair = columns.pair_mask(baseline, candidate)
    length_a, length_b = columns.style_a[pair, 0], columns.style_b[pair, 0]
    swap = columns.system_a[pair] != columns.system_code(candidate)
    own, other = np.where(swap, length_b, length_a), np.where(swap, length_a, length_b)
    ratio = (own + 1) / (other + 1)
    where = np.searchsorted(LENGTH_BINS, ratio, side="right") - 1  # the bin with low <= ratio < high
    decisive = columns.decisive[pair]
    wins = columns.chosen[pair] == columns.system_code(candidate)
    counts = np.bincount(where, minlength=len(LENGTH_BINS) - 1)
    decided = np.bincount(where[decisive], minlength=len(LENGTH_BINS) - 1)
    won = np.bincount(where[decisive & wins], minlength=len(LENGTH_BINS) - 1)
    bins: list[dict[str, Any]] = []
    for i, (low_edge, high_edge) in enumerate(_bin_edges()):
        row: dict[str, Any] = {
            "low": low_edge,
            "high": high_edge,
            "wins": int(won[i]),
            "decisive": int(decided[i]),
            "n": int(counts[i]),
        }
        low, high = wilson_interval(row["wins"], row["decisive"])
        row["rate"] = finite_or_none(row["wins"] / row["decisive"]) if row["decisive"] else None
        row["ci_low"], row["ci_high"] = low, high
        row["high"] = None if math.isinf(row["high"]) else row["high"]
        bins.append(row)
    return {"baseline": baseline, "candidate": candidate, "bins": bins}


def _bin_edges() -> list[tuple[float, float]]:
    return list(itertools.pairwise(LENGTH_BINS))


def conclusion_change(block: dict[str, Any]) -> str | None:
    """A sentence when style control changes what the interval says about 0.5; None when it does not."""
    controlled = block.get("style_controlled")
    if not controlled or block.get("ci_low") is None or controlled.get("ci_low") is None:
        return None

    def side(low: float, high: float) -> int:
        return 1 if low > 0.5 else (-1 if high < 0.5 else 0)

    raw = side(block["ci_low"], block["ci_high"])
    styled = side(controlled["ci_low"], controlled["ci_high"])
    if raw == styled:
        return None
    words = {1: "the candidate is preferred", -1: "the baseline is preferred", 0: "no preference is shown"}
    return (
        f"Style control changes the conclusion: without it {words[raw]}; at equal length and formatting "
        f"{words[styled]}."
    )
