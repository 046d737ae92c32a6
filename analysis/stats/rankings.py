"""Bradley-Terry strengths for many systems, with bootstrap intervals."""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from analysis.stats.preference import bootstrap_unit_totals
from analysis.stats.proportion import DEFAULT_BOOTSTRAP_ROUNDS, finite_or_none

# A weak Gaussian prior on the Bradley-Terry log-strengths: it changes nothing visible with a real
# amount of data but keeps the strengths finite when a system wins (or loses) all of its comparisons.
BT_RIDGE = 0.01
ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0


# ---------------------------------------------------------------------------------------------------
# Bradley-Terry for many systems
# ---------------------------------------------------------------------------------------------------


def pair_index(n_systems: int) -> list[tuple[int, int]]:
    return list(combinations(range(n_systems), 2))


_OUTCOME_COLUMN = {"x": 0, "y": 1, "none": 2}


def system_positions(systems: Sequence[str]) -> dict[str, int]:
    position = {name: i for i, name in enumerate(systems)}
    if len(position) != len(systems):
        raise ValueError("system names must be distinct")
    return position


def outcome_column(position: dict[str, int], x: str, y: str, result: str) -> int:
    """The column of the (pairs*3) cells that one outcome (x, y, "x"|"y"|"none") counts in.

    Pairs are stored with the earlier system first, so an outcome given the other way round is
    flipped: the one rule every tally of outcomes into pair cells goes through.
    """
    if x not in position or y not in position:
        raise ValueError(f"unknown system in ({x!r}, {y!r}); systems: {', '.join(position)}")
    i, j = position[x], position[y]
    if i == j:
        raise ValueError(f"a system cannot be compared with itself: {x}")
    if i > j:
        i, j = j, i
        result = {"x": "y", "y": "x"}.get(result, result)
    if result not in _OUTCOME_COLUMN:
        raise ValueError(f"unknown result {result!r}; expected x, y or none")
    return _pair_cells(len(position))[(i, j)] * 3 + _OUTCOME_COLUMN[result]


@functools.cache
def _pair_cells(n_systems: int) -> dict[tuple[int, int], int]:
    """Each pair's number in `pair_index` order, the order the cells are laid out in."""
    return {pair: n for n, pair in enumerate(pair_index(n_systems))}


def wins_from_cells(cells: np.ndarray, n_systems: int) -> np.ndarray:
    """(..., pairs*3) cell counts -> (..., K, K) fractional win matrix.

    Cells per pair (i < j): i wins, j wins, no preference (tie or both bad). No preference counts as
    half a win each way.
    """
    pairs = pair_index(n_systems)
    cells = np.asarray(cells, dtype=np.float64).reshape(*cells.shape[:-1], len(pairs), 3)
    wins = np.zeros((*cells.shape[:-2], n_systems, n_systems))
    first = np.array([i for i, _ in pairs], dtype=np.intp)
    second = np.array([j for _, j in pairs], dtype=np.intp)
    half = cells[..., 2] / 2
    wins[..., first, second] = cells[..., 0] + half
    wins[..., second, first] = cells[..., 1] + half
    return wins


def bradley_terry_fit(
    wins: np.ndarray, *, ridge: float = BT_RIDGE, tol: float = 1e-9, max_iter: int = 100
) -> np.ndarray:
    """Log-strengths maximising the Bradley-Terry (1952) likelihood, for a batch of win matrices.

    ``wins`` is (K, K) or (B, K, K) with ``wins[..., i, j]`` the (fractional) wins of i over j. All
    B problems are solved at once by Newton's method: each iteration is a handful of batched array
    operations and one batched K x K solve. The L2 penalty ``ridge`` makes the problem strictly
    concave, so the solution is unique and, at the optimum, the log-strengths sum to zero.
    """
    wins = np.asarray(wins, dtype=np.float64)
    single = wins.ndim == 2
    if single:
        wins = wins[None]
    batch, k, _ = wins.shape
    totals = wins + np.swapaxes(wins, -1, -2)
    won = wins.sum(axis=-1)
    theta = np.zeros((batch, k))
    eye = np.eye(k)
    scale = 1.0 + totals.sum(axis=(-1, -2)).max()
    for _ in range(max_iter):
        diff = theta[:, :, None] - theta[:, None, :]
        prob = 0.5 * (1.0 + np.tanh(0.5 * diff))  # a sigmoid that cannot overflow
        grad = won - (totals * prob).sum(axis=-1) - ridge * theta
        if np.abs(grad).max() <= tol * scale:
            break
        weight = totals * prob * (1.0 - prob)
        hessian = weight.sum(axis=-1)[:, :, None] * eye - weight + ridge * eye
        if ridge == 0:
            # Without the prior only differences are identified: adding 11^T/K pins the step to sum
            # zero (the gradient then sums to zero) and leaves it a Newton step otherwise.
            hessian = hessian + 1.0 / k
        step = np.linalg.solve(hessian, grad[..., None])[..., 0]
        # Far from the optimum a full Newton step can overshoot on a logistic likelihood: cap it.
        theta += np.clip(step, -2.0, 2.0)
    return theta[0] if single else theta


def bradley_terry_negloglik(
    theta: np.ndarray, wins: np.ndarray, ridge: float = BT_RIDGE
) -> tuple[float, np.ndarray]:
    """Penalised negative log-likelihood and its gradient, for one (K, K) win matrix (used by scipy)."""
    diff = theta[:, None] - theta[None, :]
    log_prob = -np.logaddexp(0.0, -diff)
    value = -(wins * log_prob).sum() + 0.5 * ridge * float(theta @ theta)
    totals = wins + wins.T
    prob = 0.5 * (1.0 + np.tanh(0.5 * diff))
    grad = -(wins.sum(axis=1) - (totals * prob).sum(axis=1)) + ridge * theta
    return float(value), grad


def bradley_terry(
    systems: Sequence[str],
    pairs: Sequence[tuple[str, str, str]],
    units: Sequence[Hashable] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, Any]:
    """Bradley-Terry strengths with bootstrap intervals, and the pairwise win-rate matrix.

    ``pairs`` holds ``(system_x, system_y, result)`` with result ``"x"``, ``"y"`` or ``"none"`` (tie or
    both bad: half a win each way). ``units`` (prompt ids) are resampled by the bootstrap; without
    them each rating is its own unit.
    """
    k = len(systems)
    position = system_positions(systems)
    pair_cells = _pair_cells(k)
    unit_keys: Sequence[Hashable] = list(range(len(pairs))) if units is None else units
    unit_row = {unit: i for i, unit in enumerate(sorted(set(unit_keys), key=repr))}
    cells = np.zeros((len(unit_row), len(pair_cells) * 3), dtype=np.int64)
    for (x, y, result), unit in zip(pairs, unit_keys, strict=True):
        cells[unit_row[unit], outcome_column(position, x, y, result)] += 1
    total_cells = cells.sum(axis=0)
    point_wins = wins_from_cells(total_cells, k)
    theta = bradley_terry_fit(point_wins)
    boot_cells = bootstrap_unit_totals(cells, rounds=rounds, seed=seed)
    boot_theta = bradley_terry_fit(wins_from_cells(boot_cells, k)) if rounds else np.zeros((0, k))
    low, high = np.percentile(boot_theta, [2.5, 97.5], axis=0) if rounds else (theta, theta)
    order = np.argsort(-theta, kind="stable")
    rank_of = {int(i): r + 1 for r, i in enumerate(order)}
    counts = (point_wins + point_wins.T).sum(axis=1)
    scores = [
        {
            "name": systems[i],
            "rank": rank_of[i],
            "ratings": round(counts[i]),
            "score": finite_or_none(theta[i]),
            "ci_low": finite_or_none(low[i]),
            "ci_high": finite_or_none(high[i]),
            "elo": finite_or_none(ELO_BASE + ELO_SCALE * theta[i]),
            "elo_ci_low": finite_or_none(ELO_BASE + ELO_SCALE * low[i]),
            "elo_ci_high": finite_or_none(ELO_BASE + ELO_SCALE * high[i]),
        }
        for i in order
    ]
    decisive = np.zeros((k, k))
    for (i, j), n in pair_cells.items():
        decisive[i, j] = decisive[j, i] = total_cells[n * 3] + total_cells[n * 3 + 1]
        # Rows win against columns; only decisive votes count in the matrix.
    strict = wins_from_cells(total_cells * np.tile([1, 1, 0], len(pair_cells)), k)
    matrix = [
        [finite_or_none(strict[i, j] / decisive[i, j]) if decisive[i, j] else None for j in range(k)]
        for i in range(k)
    ]
    return {
        "method": "bradley_terry_newton",
        "ridge": BT_RIDGE,
        "ci_method": "prompt_bootstrap" if units is not None else "rating_bootstrap",
        "bootstrap_rounds": rounds,
        "scores": scores,
        "win_rate_matrix": {"systems": list(systems), "rows_beat_columns": matrix},
    }
