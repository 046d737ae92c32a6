"""Stop-when-settled by simulation: the anytime-valid sequence against naive repeated Wilson intervals.

2,000 simulated campaigns per scenario, each looked at after every decisive vote up to HORIZON votes:
- true rate 0.5 (no preference): the share of campaigns that EVER declare a winner, ours (Howard et
  al. normal-mixture confidence sequence, analysis.stats.sequential) and naive (a 95 % Wilson interval
  recomputed after every vote, stopping the first time it excludes 0.5);
- true rate 0.65: the mean number of decisive votes until ours declares the candidate (a campaign
  that never decides within HORIZON counts as HORIZON), against the fixed size the power calculation
  (exact binomial, 80 % power, 5 % two-sided; analysis.stats.planning) asks for.
Votes are decisive (ties and both-bad carry no information on the preference rate and are not
simulated). Vectorised: one array of campaigns x votes per scenario.

Run: .venv/bin/python bench/sequential.py   (prints key=value pairs on its last line)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from analysis.stats import Z95, decisive_votes_needed
from analysis.stats.sequential import running_interval

CAMPAIGNS = 2_000
HORIZON = 1_000
ALTERNATIVE = 0.65


def wilson_bounds(successes: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """analysis.stats.wilson_interval on arrays (the tests check the two agree)."""
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def ever_declares(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.asarray(((low > 0.5) | (high < 0.5)).any(axis=-1))


def first_decision(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Decisive votes until the interval first excludes 0.5; HORIZON where it never does."""
    hit = (low > 0.5) | (high < 0.5)
    return np.where(hit.any(axis=-1), hit.argmax(axis=-1) + 1, hit.shape[-1])


def simulate(
    *, campaigns: int = CAMPAIGNS, horizon: int = HORIZON, alternative: float = ALTERNATIVE, seed: int = 0
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    t = np.arange(1, horizon + 1, dtype=float)
    null = (rng.random((campaigns, horizon)) < 0.5).astype(float)
    ours_low, ours_high = running_interval(null)
    naive_low, naive_high = wilson_bounds(np.cumsum(null, axis=1), t)
    alt = (rng.random((campaigns, horizon)) < alternative).astype(float)
    alt_low, alt_high = running_interval(alt)
    stops = first_decision(alt_low, alt_high)
    fixed_n = decisive_votes_needed(alternative)
    assert fixed_n is not None
    mean_stop = float(stops.mean())
    return {
        "type_i_ours": float(ever_declares(ours_low, ours_high).mean()),
        "type_i_naive": float(ever_declares(naive_low, naive_high).mean()),
        "ratings_to_decision": mean_stop,
        "median_to_decision": float(np.median(stops)),
        "power_at_fixed_n": float((stops <= fixed_n).mean()),
        "decided_in_horizon": float((alt_low[:, -1] > 0.5).mean()),
        "fixed_n": float(fixed_n),
        "saving": 1.0 - mean_stop / fixed_n,
    }


def main() -> None:
    start = time.perf_counter()
    figures = simulate()
    seconds = time.perf_counter() - start
    print(
        f"{CAMPAIGNS} campaigns x {HORIZON} looks; alternative {ALTERNATIVE}: median votes to decision "
        f"{figures['median_to_decision']:.0f}, share decided by the fixed size {figures['power_at_fixed_n']:.3f}, "
        f"decided within the horizon {figures['decided_in_horizon']:.3f}; {seconds:.2f} s"
    )
    print(
        f"type_i_ours={figures['type_i_ours']:.4f} type_i_naive={figures['type_i_naive']:.4f} "
        f"ratings_to_decision={figures['ratings_to_decision']:.1f} fixed_n={figures['fixed_n']:.0f} "
        f"saving={figures['saving']:.3f}"
    )


if __name__ == "__main__":
    main()
