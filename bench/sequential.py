"""Stop-when-settled by simulation, against the fixed design a researcher would plan.

The fixed design is planned the usual way, for the smallest preference worth detecting: 0.6, exact
binomial, 80 % power, 5 % two-sided (analysis.stats.planning; 199 decisive votes). The truth is often
larger than the plan (AlpacaEval's real pair sits at 0.79), and that is where an anytime-valid design
saves: it stops as soon as the ratings settle instead of paying for the planned worst case.

2,000 simulated campaigns per true rate, each looked at after every decisive vote up to a horizon of
2,000 votes:
- true rate 0.5: type I, the share of campaigns that EVER declare a winner, ours (Howard et al.
  normal-mixture confidence sequence, analysis.stats.sequential) and naive (a 95 % Wilson interval
  recomputed after every vote, stopping the first time it excludes 0.5);
- true rates 0.6, 0.65, 0.7, 0.79: the mean decisive votes until ours declares the candidate; a
  campaign still undecided at the horizon counts the whole horizon (so the mean can only be
  overstated), and saving = 1 - mean / fixed n;
- true rate 0.55 (below the plan): what a cap is for; the mean votes and the share undecided.
Votes are decisive (ties and both-bad carry no information on the preference rate and are not
simulated). Vectorised: one campaigns x votes array per true rate, well under a minute on 2 cores.

Run: .venv/bin/python bench/sequential.py   (prints key=value pairs on its last line)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from analysis.stats import Z95, decisive_votes_needed
from analysis.stats.sequential import running_interval, votes_expected

CAMPAIGNS = 2_000
HORIZON = 2_000
PLANNED = 0.6  # the minimum effect the fixed design is planned for
TRUE_RATES = (0.6, 0.65, 0.7, 0.79)
BELOW_PLAN = 0.55


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
    """Decisive votes until the interval first excludes 0.5; the horizon where it never does."""
    hit = (low > 0.5) | (high < 0.5)
    return np.where(hit.any(axis=-1), hit.argmax(axis=-1) + 1, hit.shape[-1])


def _votes(rng: np.random.Generator, rate: float, campaigns: int, horizon: int) -> np.ndarray:
    return (rng.random((campaigns, horizon)) < rate).astype(float)


def simulate(
    *,
    campaigns: int = CAMPAIGNS,
    horizon: int = HORIZON,
    planned: float = PLANNED,
    true_rates: tuple[float, ...] = TRUE_RATES,
    seed: int = 0,
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    fixed_n = decisive_votes_needed(planned)
    assert fixed_n is not None
    figures: dict[str, float] = {"fixed_n": float(fixed_n)}
    null = _votes(rng, 0.5, campaigns, horizon)
    figures["type_i"] = float(ever_declares(*running_interval(null)).mean())
    t = np.arange(1, horizon + 1, dtype=float)
    figures["type_i_naive"] = float(ever_declares(*wilson_bounds(np.cumsum(null, axis=1), t)).mean())
    del null
    for rate in (*true_rates, BELOW_PLAN):
        low, high = running_interval(_votes(rng, rate, campaigns, horizon))
        stops = first_decision(low, high)
        figures[f"votes_at_{rate}"] = float(stops.mean())
        figures[f"undecided_at_{rate}"] = float(((low[:, -1] <= 0.5) & (high[:, -1] >= 0.5)).mean())
        figures[f"power_at_fixed_n_{rate}"] = float((stops <= fixed_n).mean())
        figures[f"saving_at_{rate}"] = 1.0 - float(stops.mean()) / fixed_n
    return figures


def main() -> None:
    start = time.perf_counter()
    f = simulate()
    seconds = time.perf_counter() - start
    print(
        f"{CAMPAIGNS} campaigns x {HORIZON} looks; fixed design planned at {PLANNED}: {f['fixed_n']:.0f} decisive "
        f"votes; type I ours {f['type_i']:.4f}, naive repeated Wilson {f['type_i_naive']:.4f}; {seconds:.1f} s"
    )
    for rate in TRUE_RATES:
        print(
            f"true rate {rate}: mean votes to decision {f[f'votes_at_{rate}']:.1f} (the plan's formula, "
            f"analysis.stats.sequential.votes_expected: {votes_expected(rate)}), undecided at the horizon "
            f"{f[f'undecided_at_{rate}']:.3f}, decided by the fixed size {f[f'power_at_fixed_n_{rate}']:.3f}"
        )
    print(
        f"true rate {BELOW_PLAN} (below the plan): mean votes {f[f'votes_at_{BELOW_PLAN}']:.0f}, undecided at "
        f"the horizon {f[f'undecided_at_{BELOW_PLAN}']:.3f}: what --max-ratings and --equivalence-margin end"
    )
    print(
        f"type_i={f['type_i']:.4f} "
        + " ".join(f"saving_at_{rate}={f[f'saving_at_{rate}']:.3f}" for rate in TRUE_RATES)
        + f" fixed_n={f['fixed_n']:.0f} "
        + " ".join(f"votes_at_{rate}={f[f'votes_at_{rate}']:.1f}" for rate in TRUE_RATES)
    )


if __name__ == "__main__":
    main()
