"""Simulated campaigns for the PPI coverage test and bench/judge.py (pure numpy, vectorised)."""

from __future__ import annotations

import numpy as np

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
