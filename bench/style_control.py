"""Style control against today's Bradley-Terry bootstrap, on the same 20,000 ratings of 10 systems.

Both with 1,000 prompt-bootstrap rounds, side by side in one process, alternating, best of REPEATS each:
- bt: analysis.stats.bradley_terry (what the report computes for more than two systems);
- style: analysis.style_control's global fit as the report runs it (Markdown counts of every answer,
  the converged fit, the bootstrap), and `style_fit_only`, the fit and bootstrap from counts made beforehand.
Synthetic ratings: 2,000 prompts, each answered by every system (answers of 200-3,000 characters with
headers, lists and bold text at random), 10 ratings per prompt of random pairs; outcomes from a
Bradley-Terry model with a length effect.

Run: .venv/bin/python bench/style_control.py   (prints key=value pairs on its last line)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from analysis.columns import RatingColumns
from analysis.records import Choice, RatingRecord
from analysis.stats.rankings import bradley_terry
from analysis.stats.style import StyleFit, style_fit_arrays
from analysis.style_control import StyleArrays

SYSTEMS = [f"model-{i}" for i in range(10)]
PROMPTS, PER_PROMPT, ROUNDS, REPEATS = 2_000, 10, 1_000, 5


def _answer(rng: np.random.Generator) -> str:
    lines = []
    for _ in range(int(rng.integers(2, 12))):
        kind = rng.integers(0, 4)
        words = " ".join("word" for _ in range(int(rng.integers(5, 40))))
        lines.append(["## " + words[:30], "- " + words, "**" + words[:20] + "** " + words, words][kind])
    return "\n".join(lines)


def ratings(seed: int = 0) -> list[RatingRecord]:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 0.5, len(SYSTEMS))
    out = []
    for p in range(PROMPTS):
        answers = [_answer(rng) for _ in SYSTEMS]
        for _ in range(PER_PROMPT):
            i, j = rng.choice(len(SYSTEMS), 2, replace=False)
            la, lb = len(answers[i]), len(answers[j])
            logit = strength[i] - strength[j] + 1.0 * (la - lb) / (la + lb + 1)
            u = rng.random()
            choice: Choice = "tie" if u < 0.1 else ("a" if rng.random() < 1 / (1 + np.exp(-logit)) else "b")
            out.append(
                RatingRecord(
                    "bench",
                    f"p{p}",
                    "c",
                    "zero_shot",
                    SYSTEMS[i],
                    SYSTEMS[j],
                    "a" if rng.random() < 0.5 else "b",
                    choice,
                    "r",
                    1.0,
                    "2026-01-01",
                    text_a=answers[i],
                    text_b=answers[j],
                )
            )
    return out


def best_of(fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Each function's best time over REPEATS rounds, the functions alternating within a round."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(REPEATS):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def _fit(records: list[RatingRecord]) -> StyleFit:
    """The report's global fit from the records: their Markdown counted, then fitted with its bootstrap."""
    return StyleArrays(RatingColumns.from_records(records), SYSTEMS).fit(ROUNDS, 0)


def main() -> None:
    records = ratings()
    units = [(r.campaign, r.prompt_id) for r in records]
    pairs = [(r.system_a, r.system_b, r.pair_result) for r in records]
    inputs = StyleArrays(RatingColumns.from_records(records), SYSTEMS)
    timed = best_of(
        {
            "bt": lambda: bradley_terry(SYSTEMS, pairs, units, rounds=ROUNDS),
            "style": lambda: _fit(records),
            "fit_only": lambda: style_fit_arrays(
                n_systems=len(SYSTEMS),
                systems=SYSTEMS,
                pairs=inputs.pairs,
                outcomes=inputs.outcomes,
                counts_a=inputs.left,
                counts_b=inputs.right,
                unit_of=inputs.unit_of,
                rounds=ROUNDS,
                seed=0,
            ),
        }
    )
    bt_s, style_s, fit_only_s = timed["bt"], timed["style"], timed["fit_only"]
    fit = _fit(records)
    print(
        f"ratings={len(records)} systems={len(SYSTEMS)} rounds={ROUNDS} length_coefficient={fit.coefficients()[0]:.3f}"
    )
    print(
        f"ratio={style_s / bt_s:.2f} fit_only_ratio={fit_only_s / bt_s:.2f} style_s={style_s:.3f} "
        f"fit_only_s={fit_only_s:.3f} bt_s={bt_s:.3f} residual_sd={fit.bootstrap_residual}"
    )


if __name__ == "__main__":
    main()
