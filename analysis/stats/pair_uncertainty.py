"""How certain each pair's Bradley-Terry comparison is: what adaptive serving of many systems draws by.

The fit is the report's own (``rankings.bradley_terry_fit``, same ridge, ties and both-bad half a win
each way), so the scores serving acts on are the scores the report shows. The uncertainty is closed
form, cheap and deterministic (no bootstrap): the covariance of the log-strengths is the inverse of
the penalised Fisher information at the fit, I = L(n_ij p_ij (1 - p_ij)) + ridge * Id (L the graph
Laplacian), so Var(theta_x - theta_y) = C_xx + C_yy - 2 C_xy, also for pairs never compared (through
the others, or through the prior when nothing connects them).

Serving needs it on the scale of the question asked (which of the two is preferred, and how often):
the standard error of the pair's win probability p = sigmoid(theta_x - theta_y) by the delta method,
p (1 - p) * se(theta_x - theta_y), capped at 0.5 (no probability spreads wider). On the logit scale a
perfectly separated pair would look the least certain of all (its Fisher information vanishes);
on the probability scale it is among the most certain, as it should be. Pure numpy: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.stats.rankings import (
    BT_RIDGE,
    bradley_terry_fit,
    outcome_column,
    pair_index,
    system_positions,
    wins_from_cells,
)

MAX_SE = 0.5
METHOD = (
    "Standard error of each pair's Bradley-Terry win probability: the report's fit, covariance from the "
    "inverse penalised Fisher information, delta method onto the probability scale, capped at 0.5."
)


@dataclass(frozen=True)
class PairUncertainty:
    ratings: int  # ratings of this pair (ties and both-bad included: they count half a win each way)
    score_diff: float  # theta_x - theta_y
    se_diff: float  # its standard error on the log-strength scale
    p: float  # Bradley-Terry probability that x is preferred to y
    se: float  # standard error of p (delta method), capped at MAX_SE


def win_cells(systems: Sequence[str], outcomes: Sequence[tuple[str, str, str]]) -> np.ndarray:
    """(pairs*3) counts for ``rankings.wins_from_cells``: ``outcomes`` are (x, y, "x"|"y"|"none")."""
    position = system_positions(systems)
    cells = np.zeros(len(pair_index(len(systems))) * 3)
    for x, y, result in outcomes:
        cells[outcome_column(position, x, y, result)] += 1
    return cells


def bradley_terry_covariance(wins: np.ndarray, theta: np.ndarray, *, ridge: float = BT_RIDGE) -> np.ndarray:
    """Inverse of the penalised Fisher information of the Bradley-Terry likelihood at ``theta``."""
    wins = np.asarray(wins, dtype=float)
    k = wins.shape[0]
    totals = wins + wins.T
    diff = theta[:, None] - theta[None, :]
    prob = 0.5 * (1.0 + np.tanh(0.5 * diff))
    weight = totals * prob * (1.0 - prob)
    info = np.diag(weight.sum(axis=1)) - weight + ridge * np.eye(k)
    if ridge <= 0:
        # Without the prior only differences are identified: pin the mean (as the fit does).
        info = info + 1.0 / k
    return np.asarray(np.linalg.inv(info))


def pair_uncertainty(
    systems: Sequence[str],
    outcomes: Sequence[tuple[str, str, str]],
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    ridge: float = BT_RIDGE,
) -> dict[tuple[str, str], PairUncertainty]:
    """Each pair's Bradley-Terry comparison and how certain it is (every pair of ``systems`` by default)."""
    k = len(systems)
    if k < 2:
        raise ValueError("a comparison needs at least two systems")
    cells = win_cells(systems, outcomes)
    wins = wins_from_cells(cells, k)
    theta = bradley_terry_fit(wins, ridge=ridge)
    cov = bradley_terry_covariance(wins, theta, ridge=ridge)
    position = {name: i for i, name in enumerate(systems)}
    counts = wins + wins.T
    wanted = list(pairs) if pairs is not None else [(systems[i], systems[j]) for i, j in pair_index(k)]
    result: dict[tuple[str, str], PairUncertainty] = {}
    for x, y in wanted:
        i, j = position[x], position[y]
        diff = float(theta[i] - theta[j])
        se_diff = float(np.sqrt(max(cov[i, i] + cov[j, j] - 2.0 * cov[i, j], 0.0)))
        p = float(0.5 * (1.0 + np.tanh(0.5 * diff)))
        result[(x, y)] = PairUncertainty(
            ratings=round(float(counts[i, j])),
            score_diff=diff,
            se_diff=se_diff,
            p=p,
            se=min(p * (1.0 - p) * se_diff, MAX_SE),
        )
    return result
