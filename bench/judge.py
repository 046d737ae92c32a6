"""PPI simulation: coverage of the 95 % PPI interval, its width against the humans alone, and active labelling.

2,000 simulated campaigns of 600 comparisons (judge agreement 60-90 %, 10-50 % of comparisons
rated by a human). Prints, last, `coverage=… width_ratio=… effective_n_ratio=…`: the share of
PPI intervals covering the true rate, the mean PPI / human-only interval width, and the mean
effective number of human ratings over the real number; then `active_effective_n_ratio=…`: 2,000
campaigns of 600 comparisons with a judge that knows its doubt and 100 human ratings, uniform PPI
against active labelling (Zrnic & Candes 2024) at the same expected number of ratings: the mean ratio
of their variances, with the active interval's coverage (`active_coverage=…`) printed beside it.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from analysis.stats.ppi_simulation import simulate_active, simulate_campaigns


def main() -> None:
    t0 = time.perf_counter()
    sim = simulate_campaigns(campaigns=2000, comparisons=600, seed=int(os.environ.get("SEED", "0")))
    covered = (sim["ci_low"] <= sim["truth"]) & (sim["truth"] <= sim["ci_high"])
    human_covered = (sim["human_only_ci_low"] <= sim["truth"]) & (sim["truth"] <= sim["human_only_ci_high"])
    width = sim["ci_high"] - sim["ci_low"]
    human_width = sim["human_only_ci_high"] - sim["human_only_ci_low"]
    effective_ratio = (sim["human_only_se"] ** 2 / sim["se"] ** 2).mean()
    for low, high in ((0.6, 0.7), (0.7, 0.8), (0.8, 0.9)):
        band = (sim["agreement"] >= low) & (sim["agreement"] < high)
        print(
            f"agreement {low:.0%}-{high:.0%}: campaigns={band.sum()} coverage={covered[band].mean():.3f} "
            f"width_ratio={(width[band] / human_width[band]).mean():.3f}"
        )
    active = simulate_active(
        campaigns=2000, comparisons=600, labels=100, seed=int(os.environ.get("SEED", "0"))
    )
    truth = active["truth"]
    active_covered = (active["active"]["ci_low"] <= truth) & (truth <= active["active"]["ci_high"])
    uniform_covered = (active["uniform"]["ci_low"] <= truth) & (truth <= active["uniform"]["ci_high"])
    active_ratio = (active["uniform"]["se"] ** 2 / active["active"]["se"] ** 2).mean()
    print(
        f"active labelling: human ratings={active['active']['n'].mean():.1f} (uniform 100) "
        f"active_coverage={active_covered.mean():.4f} uniform_coverage={uniform_covered.mean():.4f}"
    )
    print(f"human-only coverage={human_covered.mean():.3f}; {time.perf_counter() - t0:.2f} s")
    print(
        f"coverage={covered.mean():.4f} width_ratio={np.mean(width / human_width):.4f} "
        f"effective_n_ratio={effective_ratio:.4f} active_effective_n_ratio={active_ratio:.4f} "
        f"active_coverage={active_covered.mean():.4f}"
    )


if __name__ == "__main__":
    main()
