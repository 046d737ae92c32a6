"""Planning: how many decisive votes a campaign needs for a given power."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats as sps

from analysis.stats.proportion import finite_or_none

# ---------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def decisive_votes_needed(
    true_rate: float, *, power: float = 0.8, alpha: float = 0.05, method: str = "exact", max_n: int = 200_000
) -> int | None:
    """Decisive votes needed so a two-sided test against 0.5 at ``alpha`` rejects with ``power``.

    ``method="normal"``: the usual normal approximation,
    n = ((z_{1-alpha/2} * 0.5 + z_{power} * sqrt(p(1-p))) / (p - 0.5))^2, rounded up.
    ``method="exact"``: the smallest n whose exact binomial test (reject when the two-sided exact
    p-value is <= alpha) has at least ``power``, computed for every n at once. Exact power is a
    sawtooth in n, so the result is the first n that reaches it.
    """
    if not 0.0 < true_rate < 1.0 or math.isclose(true_rate, 0.5):
        return None
    z_alpha = float(sps.norm.ppf(1 - alpha / 2))
    z_power = float(sps.norm.ppf(power))
    effect = abs(true_rate - 0.5)
    normal = math.ceil(((z_alpha * 0.5 + z_power * math.sqrt(true_rate * (1 - true_rate))) / effect) ** 2)
    if method == "normal":
        return normal
    if method != "exact":
        raise ValueError(f"unknown method: {method}")
    upper = min(max_n, 2 * normal + 50)
    n = np.arange(1, upper + 1)
    # For p = 0.5 the null is symmetric: the exact two-sided p-value of k is 2 * min(cdf(k), sf(k - 1)),
    # so the rejection region is k <= c or k >= n - c with c the largest k having 2 * cdf(k) <= alpha.
    c = sps.binom.ppf(alpha / 2, n, 0.5)
    c = np.where(2 * sps.binom.cdf(c, n, 0.5) <= alpha, c, c - 1)
    reach = sps.binom.cdf(c, n, true_rate) + sps.binom.sf(n - c - 1, n, true_rate)
    reach = np.where(c >= 0, reach, 0.0)
    hits = np.nonzero(reach >= power)[0]
    return int(n[hits[0]]) if hits.size else None


def power_table(
    *,
    decisive_share: float | None = None,
    true_rates: Sequence[float] = (0.55, 0.6, 0.65, 0.7, 0.75),
    power: float = 0.8,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Prompts needed per true preference rate; ``decisive_share`` (share of non-tie votes) scales votes."""
    share = decisive_share if decisive_share and decisive_share > 0 else 1.0
    rows = []
    for rate in true_rates:
        exact = decisive_votes_needed(rate, power=power, alpha=alpha, method="exact")
        normal = decisive_votes_needed(rate, power=power, alpha=alpha, method="normal")
        rows.append(
            {
                "true_preference_rate": rate,
                "decisive_votes_exact": exact,
                "decisive_votes_normal": normal,
                "prompts_exact": math.ceil(exact / share) if exact else None,
                "prompts_normal": math.ceil(normal / share) if normal else None,
            }
        )
    return {
        "power": power,
        "alpha": alpha,
        "decisive_share": finite_or_none(share),
        "method": "exact binomial (first n reaching the power) and normal approximation; prompts = votes / decisive share",
        "rows": rows,
    }
