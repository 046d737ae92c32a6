"""Bradley-Terry with bootstrap intervals: our batched Newton fit against one scipy L-BFGS fit per round.

10 systems, 20,000 ratings, 1,000 bootstrap rounds. Both sides fit exactly the same resampled rounds
(the resample is drawn once and shared), minimise the same penalised likelihood, and are checked to give
the same strengths. The scipy side is what public arena leaderboards do: one `scipy.optimize.minimize(
method="L-BFGS-B")` per bootstrap round on that round's pair counts. All rounds are run on both sides.

Run: .venv/bin/python bench/stats.py   (prints key=value pairs on its last line)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from scipy.optimize import minimize

from analysis import stats

SYSTEMS = 10
RATINGS = 20_000
ROUNDS = 1_000
TIE_SHARE = 0.1


def synthetic_cells(rng: np.random.Generator) -> np.ndarray:
    """One row per rating, one-hot over (pair, outcome) cells, as the report builds them."""
    strength = np.linspace(1.2, -1.2, SYSTEMS)
    pairs = stats.pair_index(SYSTEMS)
    chosen = rng.integers(0, len(pairs), size=RATINGS)
    first = np.array([pairs[p][0] for p in chosen])
    second = np.array([pairs[p][1] for p in chosen])
    p_first = 1.0 / (1.0 + np.exp(strength[second] - strength[first]))
    draw = rng.random(RATINGS)
    outcome = np.where(draw < TIE_SHARE, 2, np.where(rng.random(RATINGS) < p_first, 0, 1))
    cells = np.zeros((RATINGS, len(pairs) * 3), dtype=np.int64)
    cells[np.arange(RATINGS), chosen * 3 + outcome] = 1
    return cells


def scipy_fit_all(wins: np.ndarray) -> np.ndarray:
    out = np.empty(wins.shape[:2])
    start = np.zeros(wins.shape[1])
    for b in range(wins.shape[0]):
        result = minimize(
            stats.bradley_terry_negloglik,
            start,
            args=(wins[b],),
            jac=True,
            method="L-BFGS-B",
            options={"gtol": 1e-8, "maxiter": 1000},
        )
        out[b] = result.x - result.x.mean()
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    cells = synthetic_cells(rng)

    t0 = time.perf_counter()
    boot_cells = stats.bootstrap_unit_totals(cells, rounds=ROUNDS, seed=1)
    wins = stats.wins_from_cells(boot_cells, SYSTEMS)
    resample_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = stats.bradley_terry_fit(wins)
    ours_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    theirs = scipy_fit_all(wins)
    scipy_s = time.perf_counter() - t0

    diff = float(np.abs(ours - theirs).max())
    elo_diff = diff * stats.ELO_SCALE
    low, high = np.percentile(ours, [2.5, 97.5], axis=0)
    print(f"systems={SYSTEMS} ratings={RATINGS} rounds={ROUNDS} (all rounds on both sides, same resamples)")
    print(f"resample (shared): {resample_s:.3f} s")
    print(f"ours (batched Newton, all rounds at once): {ours_s:.3f} s")
    print(f"scipy L-BFGS-B, one fit per round: {scipy_s:.3f} s")
    print(f"max |ours - scipy| log-strength: {diff:.2e} ({elo_diff:.4f} Elo points)")
    print("95% interval widths (Elo):", " ".join(f"{w:.0f}" for w in (high - low) * stats.ELO_SCALE))
    if diff > 1e-4:
        raise SystemExit(f"the two fits disagree: max difference {diff:.2e}")
    speedup = scipy_s / ours_s
    speedup_total = (resample_s + scipy_s) / (resample_s + ours_s)
    print(
        f"speedup={speedup:.1f} speedup_with_resample={speedup_total:.1f} ours_s={ours_s:.4f} "
        f"ours_total_s={resample_s + ours_s:.4f} scipy_s={scipy_s:.3f} scipy_rounds={ROUNDS} rounds={ROUNDS} "
        f"systems={SYSTEMS} ratings={RATINGS} max_abs_diff={diff:.2e} cpus={os.cpu_count()} device=cpu"
    )


if __name__ == "__main__":
    main()
