"""Simulated campaigns for the PPI coverage test and bench/judge.py (pure numpy, vectorised)."""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.stats.active_ppi import active_mean_arrays, active_probabilities
from analysis.stats.ppi import ppi_mean_arrays


def simulate_campaigns(
    *, campaigns: int = 2000, comparisons: int = 600, seed: int = 0
) -> dict[str, np.ndarray]:
    """Simulated campaigns: judge agreement 60-90 %, 10-50 % of comparisons rated by a human."""
    rng = np.random.default_rng(seed)
    shape = (campaigns, comparisons)
    p_win = rng.uniform(0.3, 0.7, campaigns)
    p_tie = rng.uniform(0.0, 0.2, campaigns)
    agreement = rng.uniform(0.6, 0.9, campaigns)
    rated = rng.uniform(0.1, 0.5, campaigns)
    u = rng.random(shape)
    win = u < p_win[:, None]
    tie = (u >= p_win[:, None]) & (u < (p_win + p_tie)[:, None])
    y = np.where(win, 1.0, np.where(tie, 0.5, 0.0))
    truth = p_win + p_tie / 2  # the superpopulation rate the interval is for
    # the judge names the human's label with probability `agreement`, else a wrong one
    right = rng.random(shape) < agreement[:, None]
    wrong = np.where(
        y == 1.0, rng.choice([0.0, 0.5], shape), np.where(y == 0.0, 1.0, rng.choice([0.0, 1.0], shape))
    )
    verdict = np.where(right, y, wrong)
    confidence = rng.uniform(0.55, 0.95, shape)
    f = confidence * verdict + (1 - confidence) * 0.5
    labeled = rng.random(shape) < rated[:, None]
    result = ppi_mean_arrays(y, f, labeled)
    return {"truth": truth, "agreement": agreement, "rated": rated, **result}


def simulate_active(
    *, campaigns: int = 2000, comparisons: int = 600, labels: int = 100, seed: int = 0
) -> dict[str, Any]:
    """Uniform PPI and active labelling side by side at the same expected number of human ratings.

    A judge that knows what it does not know (Zrnic & Candes's setting): each comparison's chance that
    the human prefers the candidate, p ~ Beta around the campaign's true rate (0.3-0.95), is the judge's
    probability f; the human's label is a win with probability p. Uniform PPI rates ``labels``
    comparisons drawn at random; active labelling draws each with ``active_probabilities`` of the
    judge's uncertainty (the same number on average).
    """
    rng = np.random.default_rng(seed)
    shape = (campaigns, comparisons)
    truth = rng.uniform(0.3, 0.95, campaigns)
    concentration = rng.uniform(0.5, 3.0, campaigns)  # small: a confident judge, large: an unsure one
    a = (truth * concentration)[:, None]
    b = ((1 - truth) * concentration)[:, None]
    p = rng.beta(np.broadcast_to(a, shape), np.broadcast_to(b, shape))
    y = (rng.random(shape) < p).astype(float)
    f = p
    uniform_lab = np.zeros(shape, dtype=bool)
    picked = np.argsort(rng.random(shape), axis=1)[:, :labels]
    np.put_along_axis(uniform_lab, picked, True, axis=1)
    uniform = ppi_mean_arrays(y, f, uniform_lab)
    prob = active_probabilities(f * (1 - f), budget=labels)
    active_lab = rng.random(shape) < prob
    active = active_mean_arrays(y, f, active_lab, prob)
    return {"truth": truth, "uniform": uniform, "active": active}


def simulate_at_rate(
    *, rate: float, labels: int, campaigns: int = 1000, comparisons: int = 2000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Campaigns at one true rate with ``labels`` human ratings (a random subset), judge as in simulate_campaigns.

    Ties are fewer towards the extremes (10 % at 0.5, none at 0 or 1); the judge agrees 60-90 %.
    """
    rng = np.random.default_rng(seed)
    shape = (campaigns, comparisons)
    p_tie = 0.1 * (1 - abs(2 * rate - 1))
    p_win = rate - p_tie / 2
    agreement = rng.uniform(0.6, 0.9, campaigns)
    u = rng.random(shape)
    y = np.where(u < p_win, 1.0, np.where(u < p_win + p_tie, 0.5, 0.0))
    right = rng.random(shape) < agreement[:, None]
    wrong = np.where(
        y == 1.0, rng.choice([0.0, 0.5], shape), np.where(y == 0.0, 1.0, rng.choice([0.0, 1.0], shape))
    )
    confidence = rng.uniform(0.55, 0.95, shape)
    f = confidence * np.where(right, y, wrong) + (1 - confidence) * 0.5
    labeled = np.zeros(shape, dtype=bool)
    np.put_along_axis(labeled, np.argsort(rng.random(shape), axis=1)[:, :labels], True, axis=1)
    return ppi_mean_arrays(y, f, labeled)
