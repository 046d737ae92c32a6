"""Anytime-valid confidence sequences for a preference rate, and the rules that settle a campaign.

The interval is Howard, Ramdas, McAuliffe and Sekhon (2021), "Time-uniform, nonparametric,
nonasymptotic confidence sequences": a decisive vote is 1 (the candidate won) or 0 (it lost), a
[0, 1]-bounded observation, so S_t - t * mu is sub-Gaussian with variance process V_t = t / 4
(Hoeffding). The two-sided normal-mixture boundary u(V_t) bounds |S_t - t * mu| at every t at once
with probability at least 1 - alpha, so mean_t +- u(t / 4) / t holds however often anyone looks, and
so does its running intersection. The boundary is tuned (a choice made before any data) to be
tightest at ``t_opt`` decisive votes; it equals ``confseq.boundaries.normal_mixture_bound(v, alpha,
v_opt, alpha, is_one_sided=False)`` (the tests check it).

Closed form, so a whole campaign's running interval costs one cumulative sum, and 2,000 simulated
campaigns are one array operation. Pure numpy: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

ALPHA = 0.05
# The design point: the boundary is tightest after this many decisive votes (about what a
# 0.6-0.65 true rate needs; see bench/sequential.py for the ratings it costs).
T_OPT = 100

Decision = Literal["candidate", "baseline"]


def method_text(alpha: float = ALPHA) -> str:
    """The interval's method in words, at the campaign's level."""
    return (
        f"Anytime-valid {100 * (1 - alpha):g} % confidence sequence of Howard, Ramdas, McAuliffe and Sekhon "
        "(2021): two-sided normal-mixture boundary for the [0, 1]-bounded decisive votes (Hoeffding, variance "
        f"t/4), tuned for {T_OPT} decisive votes, running intersection; valid however often the campaign is "
        "looked at."
    )


METHOD = method_text(ALPHA)
WEIGHTED_METHOD = (
    "Overall interval weighted by each cell's share of the evaluation set (not by how many ratings a cell "
    "happened to get, which adaptive serving changes): the share-weighted sum of each cell's confidence "
    "sequence at level alpha / (number of cells), so all hold at once with probability 1 - alpha. "
    "With more than two systems every by_pair block carries its own sequential block, weighted the same "
    "way. The Bradley-Terry scores pool every rating and are not share-weighted: drawing the next pair by "
    "its uncertainty depends only on ratings already seen, which leaves their likelihood unchanged, but "
    "drawing cells changes how much each category weighs in them."
)


def _rho(v_opt: float, alpha: float) -> float:
    """The mixture's precision that makes the two-sided boundary tightest at intrinsic time v_opt."""
    log_term = 2.0 * math.log(1.0 / alpha)
    return v_opt / (log_term + math.log1p(log_term))


def normal_mixture_boundary(v: np.ndarray | float, *, alpha: float, v_opt: float) -> np.ndarray:
    """Two-sided normal-mixture uniform boundary u(v) (Howard et al. 2021, Proposition 3 / eq. 3.4)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    if v_opt <= 0:
        raise ValueError(f"v_opt must be positive, not {v_opt}")
    v = np.asarray(v, dtype=float)
    rho = _rho(v_opt, alpha)
    return np.sqrt((v + rho) * np.log((v + rho) / (rho * alpha * alpha)))


def interval_at(
    successes: np.ndarray | float, n: np.ndarray | float, *, alpha: float = ALPHA, t_opt: float = T_OPT
) -> tuple[np.ndarray, np.ndarray]:
    """The interval after ``n`` decisive votes with ``successes`` wins (no intersection); [0, 1] at n = 0."""
    s = np.asarray(successes, dtype=float)
    t = np.asarray(n, dtype=float)
    safe = np.maximum(t, 1.0)
    half = normal_mixture_boundary(safe / 4.0, alpha=alpha, v_opt=t_opt / 4.0) / safe
    mean = s / safe
    low = np.where(t > 0, np.clip(mean - half, 0.0, 1.0), 0.0)
    high = np.where(t > 0, np.clip(mean + half, 0.0, 1.0), 1.0)
    return low, high


def running_interval(
    wins: np.ndarray | Sequence[float], *, alpha: float = ALPHA, t_opt: float = T_OPT
) -> tuple[np.ndarray, np.ndarray]:
    """The confidence sequence after every decisive vote along the last axis (1 win, 0 loss).

    Works on a batch (campaigns x votes) at once. Returns the running intersection: a sequence valid
    at every time stays valid when each interval is cut down to all earlier ones.
    """
    x = np.asarray(wins, dtype=float)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError("decisive votes must lie in [0, 1]")
    t = np.arange(1, x.shape[-1] + 1, dtype=float)
    low, high = interval_at(np.cumsum(x, axis=-1), t, alpha=alpha, t_opt=t_opt)
    return np.maximum.accumulate(low, axis=-1), np.minimum.accumulate(high, axis=-1)


def decision(low: float | None, high: float | None) -> Decision | None:
    """Who the interval says is preferred: it lies wholly above 0.5 (candidate) or below (baseline)."""
    if low is not None and low > 0.5:
        return "candidate"
    if high is not None and high < 0.5:
        return "baseline"
    return None


def equivalent(low: float, high: float, *, margin: float | None) -> bool:
    """The interval lies inside 0.5 +- ``margin``: no preference as large as the margin (at the
    sequence's level, at any time), so the systems are equivalent for the researcher's purpose."""
    return margin is not None and 0.5 - margin < low and high < 0.5 + margin


def settled_rule(
    low: float, high: float, *, precision: float | None, equivalence_margin: float | None = None
) -> str | None:
    """Why a cell or campaign may stop: decided (with the direction), equivalent (inside 0.5 +-
    ``equivalence_margin``) or narrower than ``precision``; None while none holds."""
    decided = decision(low, high)
    if decided is not None:
        return f"decided_{decided}"
    if equivalent(low, high, margin=equivalence_margin):
        return "equivalent"
    if precision is not None and high - low < precision:
        return "precise"
    return None


def votes_expected(
    true_rate: float,
    *,
    shares: Sequence[float] = (1.0,),
    alpha: float = ALPHA,
    t_opt: float = T_OPT,
    max_n: int = 1_000_000,
) -> int | None:
    """Decisive votes after which the share-weighted interval's half-width first falls below
    |true_rate - 0.5|, with votes spread over the cells in proportion to their shares (each cell's
    sequence at alpha / K, as ``weighted_running_interval``): about when the design decides at that
    rate (bench/sequential.py: within a few % of the simulated mean at 0.65-0.79, 10-15 % above it at
    0.6). None at 0.5, or beyond ``max_n``. The half-width falls with n, so a bisection finds it.
    """
    effect = abs(true_rate - 0.5)
    weights = np.asarray([s for s in shares if s > 0], dtype=float)
    if effect < 1e-9 or weights.size == 0:
        return None
    weights = weights / weights.sum()
    cell_alpha = alpha / len(shares)

    def half(n: int) -> float:
        m = np.maximum(weights * n, 1.0)
        return float(weights @ (normal_mixture_boundary(m / 4.0, alpha=cell_alpha, v_opt=t_opt / 4.0) / m))

    if half(max_n) >= effect:
        return None
    low, high = 0, max_n  # half(low) >= effect > half(high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if half(mid) >= effect else (low, mid)
    return high


def weighted_running_interval(
    cells: Sequence[int] | np.ndarray,
    wins: Sequence[float] | np.ndarray,
    shares: Sequence[float],
    *,
    alpha: float = ALPHA,
    t_opt: float = T_OPT,
) -> tuple[np.ndarray, np.ndarray]:
    """The share-weighted overall interval after every vote of one stream that mixes cells.

    ``cells[i]`` is the cell (an index into ``shares``) of vote i. Each cell's sequence runs at
    alpha / K (K cells), so with probability 1 - alpha every cell's holds at every time, and then so
    does their share-weighted sum; a cell without a vote yet contributes its whole range [0, 1].
    """
    k = len(shares)
    weights = np.asarray(shares, dtype=float)
    if k == 0 or weights.min() < 0 or not math.isclose(float(weights.sum()), 1.0, rel_tol=1e-9):
        raise ValueError("cell shares must be non-negative and sum to 1")
    cell = np.asarray(cells, dtype=int)
    x = np.asarray(wins, dtype=float)
    if cell.shape != x.shape or (cell.size and (cell.min() < 0 or cell.max() >= k)):
        raise ValueError("every vote needs a cell index below the number of cells")
    onehot = np.zeros((x.size, k))
    onehot[np.arange(x.size), cell] = 1.0
    n = np.cumsum(onehot, axis=0)
    s = np.cumsum(onehot * x[:, None], axis=0)
    low, high = interval_at(s, n, alpha=alpha / k, t_opt=t_opt)
    low = np.maximum.accumulate(low, axis=0)
    high = np.minimum.accumulate(high, axis=0)
    return low @ weights, high @ weights
