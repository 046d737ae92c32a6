"""Intervals and tests for one proportion, and the small helpers every statistic shares."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

OUTCOMES = ("win", "loss", "tie", "both_bad")
Z95 = float(sps.norm.ppf(0.975))
DEFAULT_BOOTSTRAP_ROUNDS = 1000


def finite_or_none(value: float | np.floating | None) -> float | None:
    """A float for JSON: ``None`` for anything undefined."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------------
# Intervals and tests for one proportion
# ---------------------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson (1927) score interval; ``(None, None)`` when there is nothing to estimate."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At p = 0 or 1 the bound is 0 or 1 exactly in theory; floating point gives 0.9999999999999999,
    # and then the interval would not contain its own rate.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def binomial_p_value(successes: int, n: int, *, p: float = 0.5) -> float | None:
    """Two-sided exact binomial test (the Clopper-Pearson family) against ``p``."""
    if n <= 0:
        return None
    return float(sps.binomtest(int(successes), int(n), p, alternative="two-sided").pvalue)
