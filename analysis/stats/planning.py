"""Planning: how many decisive votes a campaign needs for a given power."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats as sps

from analysis.stats.proportion import finite_or_none
from analysis.stats.sequential import votes_expected

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


# ---------------------------------------------------------------------------------------------------
# A campaign's plan: the fixed design it implies and what the sequential design uses instead
# ---------------------------------------------------------------------------------------------------

DEFAULT_MIN_EFFECT = 0.6
DEFAULT_POWER = 0.8
DEFAULT_ALPHA = 0.05


def plan_problem(*, min_effect: float, power: float, alpha: float) -> tuple[str, str] | None:
    """The first plan value out of range, as (its name, what is wrong in words); None when all are fine.
    Shared by the command, the forms and the services."""
    if not 0.5 < min_effect < 1.0:
        return (
            "min_effect",
            f"the minimum effect (a preference rate) must be above 0.5 and below 1, not {min_effect}",
        )
    if not 0.5 <= power < 1.0:
        return "power", f"the power must be at least 0.5 and below 1, not {power}"
    if not 0.0 < alpha <= 0.2:
        return "alpha", f"alpha must be above 0 and at most 0.2, not {alpha}"
    return None


def plan_block(
    *,
    min_effect: float = DEFAULT_MIN_EFFECT,
    power: float = DEFAULT_POWER,
    alpha: float = DEFAULT_ALPHA,
    shares: Sequence[float] = (1.0,),
    ratings: int = 0,
    decisive: int = 0,
    estimate: float | None = None,
) -> dict[str, Any]:
    """The plan beside the running campaign, all in decisive votes (ties and both-bad carry none).

    ``fixed_n``: the exact-binomial fixed design at the minimum effect. ``expected_at_min_effect``: what
    the sequential design is expected to need were the true rate exactly the minimum effect;
    ``expected_at_estimate``: the same at the rate seen so far (None before any vote, or at 0.5).
    ``fixed_ratings`` scales ``fixed_n`` by the decisive share seen so far. With several cells the
    campaign stops by whichever comes first, the share-weighted interval (each cell at alpha / K) or
    every cell's own; both cost more votes than one pooled stream, which the fixed size assumes.
    """
    fixed_n = decisive_votes_needed(min_effect, power=power, alpha=alpha)
    at_estimate = _expected(estimate, shares, alpha) if estimate is not None and decisive else None
    return {
        "min_effect": min_effect,
        "power": power,
        "alpha": alpha,
        "fixed_n": fixed_n,
        "fixed_ratings": math.ceil(fixed_n * ratings / decisive) if fixed_n and decisive else None,
        "used": decisive,
        "expected_at_min_effect": _expected(min_effect, shares, alpha),
        "expected_at_estimate": at_estimate,
        "remaining_at_estimate": max(0, at_estimate - decisive) if at_estimate is not None else None,
    }


def _expected(rate: float, shares: Sequence[float], alpha: float) -> int | None:
    """Votes to a decision at ``rate`` in every cell: the share-weighted interval's, or every cell's own
    at its share of the votes (the smallest share decides last), whichever is fewer."""
    overall = votes_expected(rate, shares=tuple(shares), alpha=alpha)
    positive = [s for s in shares if s > 0]
    if len(positive) < 2:
        return overall
    one = votes_expected(rate, alpha=alpha)
    per_cell = math.ceil(one / (min(positive) / sum(positive))) if one is not None else None
    found = [n for n in (overall, per_cell) if n is not None]
    return min(found) if found else None
