"""Style control with very many prompts: the bootstrap's sums drawn from their normal limit (issue 31)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats import style
from analysis.stats.style import Draws, style_fit


def _fit(n: int, rounds: int = 1000):
    rng = np.random.default_rng(3)
    first = rng.integers(0, 2, size=n)
    matchups = [("a", "b") if f else ("b", "a") for f in first]
    counts_a = rng.integers(0, 40, size=(n, 4))
    counts_b = rng.integers(0, 40, size=(n, 4))
    strength = 0.3 * np.where(first == 1, 1, -1) + 0.02 * (counts_a[:, 0] - counts_b[:, 0])
    won = rng.random(n) < 1 / (1 + np.exp(-strength))
    outcomes = np.where(rng.random(n) < 0.1, 0.5, won.astype(float))
    units = [f"p{i // 2}" for i in range(n)]  # two comparisons a prompt
    return style_fit(
        systems=["a", "b"],
        matchups=matchups,
        outcomes=list(outcomes),
        counts_a=counts_a,
        counts_b=counts_b,
        units=units,
        rounds=rounds,
        seed=0,
    )


def test_the_normal_limit_gives_the_intervals_of_the_drawn_counts_with_many_prompts(monkeypatch) -> None:
    monkeypatch.setattr(style, "_HESSIAN_BUDGET", 0)
    monkeypatch.setattr(style, "_PASS_BUDGET", 0)  # the one-step bootstrap, as at a million ratings
    exact = _fit(20_000)
    monkeypatch.setattr(style, "_EXACT_DRAWS", 0)
    limit = _fit(20_000)
    assert not exact.normal_limit and limit.normal_limit
    np.testing.assert_array_equal(exact.theta, limit.theta)
    spread = exact.boot.std(axis=0)
    # Same centre and spread, to within the Monte Carlo error of 1,000 rounds (percentiles: about 0.15 of a spread each).
    assert np.all(np.abs(exact.boot.mean(axis=0) - limit.boot.mean(axis=0)) < 0.15 * spread)
    assert np.all(np.abs(limit.boot.std(axis=0) / spread - 1) < 0.1)
    for q in (2.5, 97.5):
        assert np.all(
            np.abs(np.percentile(exact.boot, q, axis=0) - np.percentile(limit.boot, q, axis=0)) < 0.4 * spread
        )


def test_prompt_draws_made_in_chunks_are_the_draws_made_at_once() -> None:
    for n_units in (7, 1001):
        draws = Draws(n_units, 300, seed=4)
        draws.chunk = 37
        rng = np.random.default_rng(4)
        picks = rng.integers(0, n_units, size=(300, n_units))
        whole = np.stack([np.bincount(row, minlength=n_units) for row in picks])
        np.testing.assert_array_equal(draws.array(), whole)


@pytest.mark.parametrize("n_units", [60_000])
def test_draws_of_very_many_prompts_come_a_few_rounds_at_a_time(n_units: int) -> None:
    draws = Draws(n_units, 1000, seed=0)
    assert draws.chunk * n_units <= style._DRAWS_BUDGET and not draws.exact
