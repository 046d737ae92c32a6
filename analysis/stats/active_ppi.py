"""Active statistical inference (Zrnic & Candes, ICML 2024): humans sent where the judge is least sure.

Each judged comparison i gets a probability ``pi_i`` of being drawn for a human rating, larger where
the judge's verdict is less certain, and never below ``FLOOR_SHARE`` of the uniform share (so every
comparison can be drawn and inverse weights stay bounded). With ``xi_i`` = 1 for a rated comparison
and ``p_i`` its inclusion probability, the estimate is the mean over all N comparisons of

    z_i = lam f_i + (y_i - lam f_i) xi_i / p_i

(unbiased for the population's mean of y whatever the judge, since E[xi_i / p_i] = 1), with the
variance of the z_i over N (ddof 1) and Student's t on the number rated. lam is power-tuned (it
minimises the z_i's variance, clipped to [0, 1]) and set to 1 when the labelled set is lopsided,
as for uniform PPI (analysis.stats.ppi). Pure numpy; 1-D arrays for a campaign, 2-D for many.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from analysis.stats.ppi import MINORITY_FLOOR, Array, _json, quantile
from analysis.stats.proportion import Z95

FLOOR_SHARE = 0.2  # every comparison's probability is at least this share of the uniform one


def verdict_uncertainty(p_candidate: ArrayLike, p_tie: ArrayLike, p_other: ArrayLike) -> Array:
    """The judge's own expected squared error on a ties-as-half label: what a human rating there buys.

    Zrnic & Candes's optimal probability is proportional to sqrt(E[(y - f)^2 | judge]); under the judge's
    probabilities (win, tie, loss) with f = p_win + p_tie / 2 that is the variance below.
    """
    pc, pt, po = (np.asarray(a, dtype=float) for a in (p_candidate, p_tie, p_other))
    total = np.where(pc + pt + po > 0, pc + pt + po, 1.0)
    pc, pt, po = pc / total, pt / total, po / total
    f = pc + pt / 2
    return np.asarray(pc * (1 - f) ** 2 + pt * (0.5 - f) ** 2 + po * f**2, dtype=float)


def active_probabilities(uncertainty: ArrayLike, *, budget: float, floor_share: float = FLOOR_SHARE) -> Array:
    """Draw probabilities over the last axis averaging ``budget / N``, proportional to sqrt(uncertainty)
    above a floor of ``floor_share`` x that share, capped at 1 (what a cap removes goes to the rest)."""
    u = np.sqrt(np.clip(np.asarray(uncertainty, dtype=float), 0.0, None))
    size = u.shape[-1]
    share = min(max(float(budget) / size, 0.0), 1.0) if size else 0.0
    if share >= 1.0:
        return np.ones_like(u)
    mean_u = u.mean(-1, keepdims=True)
    weight = np.where(mean_u > 0, u / np.where(mean_u > 0, mean_u, 1.0), 1.0)
    prob = share * (floor_share + (1 - floor_share) * weight)
    for _ in range(50):  # water-filling: give what the cap at 1 removed to those below it
        capped = prob >= 1.0
        excess = (np.clip(prob, 1.0, None) - 1.0).sum(-1, keepdims=True)
        prob = np.minimum(prob, 1.0)
        room = np.where(capped, 0.0, prob).sum(-1, keepdims=True)
        if not np.any(excess > 1e-12):
            break
        prob = np.where(capped, 1.0, prob * (1 + excess / np.where(room > 0, room, 1.0)))
    return np.asarray(prob, dtype=float)


def _ipw_terms(y: Array, f: Array, xi: Array, p: Array, lam: Array) -> Array:
    return lam[..., None] * f + (y - lam[..., None] * f) * xi / p


def _tuned_lam(y: Array, f: Array, xi: Array, p: Array) -> Array:
    """The lam minimising the variance of the z_i: with a = y xi / p, b = f (1 - xi / p), -cov(a, b) / var(b)."""
    a = y * xi / p
    b = f * (1 - xi / p)
    a_c = a - a.mean(-1, keepdims=True)
    b_c = b - b.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = -(a_c * b_c).sum(-1) / (b_c**2).sum(-1)
    return np.clip(np.where(np.isfinite(lam), lam, 0.0), 0.0, 1.0)


def active_mean_arrays(
    y: ArrayLike, f: ArrayLike, labeled: ArrayLike, probability: ArrayLike, *, z: float = Z95
) -> dict[str, Array]:
    """The IPW prediction-powered mean over the last axis; ``probability`` is each one's inclusion
    probability (> 0). The human-only figures are the Hajek (weighted) mean of the rated ones."""
    xi = np.asarray(labeled, dtype=bool).astype(float)
    y_arr = np.where(xi > 0, np.asarray(y, dtype=float), 0.0)
    f_arr = np.asarray(f, dtype=float)
    p = np.asarray(probability, dtype=float)
    n = xi.sum(-1)
    big_n = np.full(n.shape, float(xi.shape[-1]))
    lam = _tuned_lam(y_arr, f_arr, xi, p)
    rare = np.minimum((y_arr * xi).sum(-1), ((1 - y_arr) * xi).sum(-1))
    lam = np.where(rare < MINORITY_FLOOR, 1.0, lam)
    terms = _ipw_terms(y_arr, f_arr, xi, p, lam)
    estimate = terms.mean(-1)
    se = terms.std(-1, ddof=1) / np.sqrt(big_n)
    q = quantile(n, z, True)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = xi / p
        human = (weights * y_arr).sum(-1) / weights.sum(-1)
        human_se = np.sqrt((weights**2 * (y_arr - human[..., None]) ** 2).sum(-1)) / weights.sum(-1)
    return {
        "estimate": estimate,
        "ci_low": estimate - q * se,
        "ci_high": estimate + q * se,
        "se": se,
        "lambda": lam,
        "n": n,
        "unlabeled": big_n - n,
        "human_only": human,
        "human_only_ci_low": human - q * human_se,
        "human_only_ci_high": human + q * human_se,
        "human_only_se": human_se,
    }


def active_ratio_arrays(
    w: ArrayLike,
    d: ArrayLike,
    w_hat: ArrayLike,
    d_hat: ArrayLike,
    labeled: ArrayLike,
    probability: ArrayLike,
    *,
    z: float = Z95,
) -> dict[str, Array]:
    """E[w] / E[d] (the decisive-only rate) by the IPW estimates of both means; delta-method interval."""
    xi = np.asarray(labeled, dtype=bool).astype(float)
    w_arr = np.where(xi > 0, np.asarray(w, dtype=float), 0.0)
    d_arr = np.where(xi > 0, np.asarray(d, dtype=float), 0.0)
    wh, dh = np.asarray(w_hat, dtype=float), np.asarray(d_hat, dtype=float)
    p = np.asarray(probability, dtype=float)
    n = xi.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta0 = (w_arr * xi / p).sum(-1) / (d_arr * xi / p).sum(-1)
        lam = _tuned_lam(w_arr - theta0[..., None] * d_arr, wh - theta0[..., None] * dh, xi, p)
        rare = np.minimum((w_arr * xi).sum(-1), ((d_arr - w_arr) * xi).sum(-1))
        lam = np.where(rare < MINORITY_FLOOR, 1.0, lam)
        den = _ipw_terms(d_arr, dh, xi, p, lam).mean(-1)
        theta = _ipw_terms(w_arr, wh, xi, p, lam).mean(-1) / den
        g = _ipw_terms(w_arr - theta[..., None] * d_arr, wh - theta[..., None] * dh, xi, p, lam)
        se = g.std(-1, ddof=1) / np.sqrt(xi.shape[-1]) / np.abs(den)
        g0 = (w_arr - theta0[..., None] * d_arr) * xi / p
        human_se = np.sqrt((g0**2).sum(-1)) / np.abs((d_arr * xi / p).sum(-1))
    q = quantile(n, z, True)
    return {
        "estimate": theta,
        "ci_low": theta - q * se,
        "ci_high": theta + q * se,
        "se": se,
        "lambda": lam,
        "n": n,
        "unlabeled": xi.shape[-1] - n,
        "human_only": theta0,
        "human_only_ci_low": theta0 - q * human_se,
        "human_only_ci_high": theta0 + q * human_se,
        "human_only_se": human_se,
    }


def active_rate(
    y: ArrayLike, f: ArrayLike, labeled: ArrayLike, probability: ArrayLike
) -> dict[str, Any] | None:
    """The active ties-as-half rate of one campaign as the report's ``ppi`` object; None under two labels."""
    if int(np.asarray(labeled, dtype=bool).sum()) < 2:
        return None
    return {**_json(active_mean_arrays(y, f, labeled, probability)), "design": "active"}


def active_decisive_rate(
    w: ArrayLike, d: ArrayLike, w_hat: ArrayLike, d_hat: ArrayLike, labeled: ArrayLike, probability: ArrayLike
) -> dict[str, Any] | None:
    """The active decisive-only rate as a JSON object; None without two decisive human labels."""
    mask = np.asarray(labeled, dtype=bool)
    if int(mask.sum()) < 2 or float(np.asarray(d, dtype=float)[mask].sum()) <= 0:
        return None
    return {**_json(active_ratio_arrays(w, d, w_hat, d_hat, labeled, probability)), "design": "active"}
