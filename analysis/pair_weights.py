"""Draw probabilities for adaptive serving: which cell, and with more than two systems which pair.

Pure Python (no Django), so every case is cheap to test. Serving (annotate.adaptive) reads the
inputs from ``SequentialCell`` rows that settling (annotate.settling) wrote.

Pairs follow Chatbot Arena's active sampling (Chiang et al. 2024, "Chatbot Arena: An Open Platform
for Evaluating LLMs by Human Preference", section 5, eq. 9): a pair is drawn with probability
proportional to how much one more rating is expected to shrink the standard error of its
comparison, sqrt(Sigma_a / n_a) - sqrt(Sigma_a / (n_a + 1)). With se_a = sqrt(Sigma_a / n_a) the
standard error now, that is ``se_a * (1 - sqrt(n_a / (n_a + 1)))``; a pair never rated (n_a = 0)
gains its whole standard error. Then a floor is mixed in (``FLOOR_SHARE`` spread evenly), the same
rule as for cells, so every open pair keeps being sampled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Share of the draws spread evenly over the open cells (or pairs), whatever their uncertainty: each
# keeps being sampled, so one that looks certain by chance early on still gets ratings.
FLOOR_SHARE = 0.2
PAIR_RULE = (
    "Pairs drawn as Chatbot Arena samples its battles (Chiang et al. 2024, eq. 9): in proportion to the "
    "expected shrinkage of the standard error of the pair's Bradley-Terry win probability from one more "
    f"rating, se * (1 - sqrt(n / (n + 1))), with {FLOOR_SHARE:.0%} of the draws spread evenly over the "
    "open pairs; within the drawn pair, a cell in proportion to its interval width (the same floor)."
)


def floored(scores: Sequence[float], *, floor_share: float = FLOOR_SHARE) -> list[float]:
    """``floor_share`` spread evenly, the rest in proportion to ``scores``; even when no score is positive."""
    if not 0.0 <= floor_share <= 1.0:
        raise ValueError(f"floor_share must lie in [0, 1], not {floor_share}")
    if any(not math.isfinite(s) or s < 0 for s in scores):
        raise ValueError("scores must be finite and non-negative")
    k = len(scores)
    if k == 0:
        return []
    total = sum(scores)
    if total <= 0:
        return [1.0 / k] * k
    return [floor_share / k + (1.0 - floor_share) * s / total for s in scores]


def cell_weights(widths: Sequence[float], *, floor_share: float = FLOOR_SHARE) -> list[float]:
    """Draw probabilities of open cells: the floor, the rest in proportion to the interval widths."""
    return floored(widths, floor_share=floor_share)


def se_gain(se: float, n: int) -> float:
    """Expected shrinkage of a standard error ``se`` (from ``n`` ratings) when one more rating arrives."""
    if n < 0:
        raise ValueError(f"a pair cannot have {n} ratings")
    return se * (1.0 - math.sqrt(n / (n + 1.0)))


def pair_weights(
    ses: Sequence[float], counts: Sequence[int], *, floor_share: float = FLOOR_SHARE
) -> list[float]:
    """Draw probabilities of open pairs from each pair's standard error and number of ratings (``PAIR_RULE``)."""
    if len(ses) != len(counts):
        raise ValueError("one standard error and one count per pair")
    if any(not math.isfinite(se) or se < 0 for se in ses):
        raise ValueError("standard errors must be finite and non-negative")
    return floored([se_gain(se, n) for se, n in zip(ses, counts, strict=True)], floor_share=floor_share)
