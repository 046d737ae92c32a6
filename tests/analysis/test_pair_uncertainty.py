"""Bradley-Terry pair uncertainty: the report's fit, the closed-form covariance, the probability scale."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from analysis.stats import rankings
from analysis.stats.pair_uncertainty import (
    MAX_SE,
    bradley_terry_covariance,
    pair_uncertainty,
    win_cells,
)

SYSTEMS = ["a", "b", "c"]


def outcomes(x: str, y: str, wins: int, losses: int, ties: int = 0) -> list[tuple[str, str, str]]:
    return [(x, y, "x")] * wins + [(x, y, "y")] * losses + [(x, y, "none")] * ties


def test_covariance_is_the_inverse_hessian_of_the_reports_likelihood() -> None:
    rng = np.random.default_rng(3)
    data = [(x, y, str(rng.choice(["x", "y", "none"]))) for x, y in [("a", "b"), ("b", "c"), ("a", "c")] * 30]
    wins = rankings.wins_from_cells(win_cells(SYSTEMS, data), 3)
    theta = rankings.bradley_terry_fit(wins)
    grad = lambda t: rankings.bradley_terry_negloglik(t, wins)[1]  # noqa: E731
    hessian = np.array([approx_fprime(theta, lambda t, i=i: grad(t)[i], 1e-6) for i in range(3)])
    assert np.allclose(bradley_terry_covariance(wins, theta), np.linalg.inv(hessian), rtol=1e-4)


def test_same_fit_as_the_report() -> None:
    data = outcomes("a", "b", 14, 6, 3) + outcomes("b", "c", 9, 11) + outcomes("a", "c", 12, 4)
    report = rankings.bradley_terry(SYSTEMS, data, rounds=0)
    score = {row["name"]: row["score"] for row in report["scores"]}
    figures = pair_uncertainty(SYSTEMS, data)
    assert figures[("a", "c")].score_diff == pytest.approx(score["a"] - score["c"], abs=1e-9)
    assert figures[("a", "b")].ratings == 23 and set(figures) == {("a", "b"), ("a", "c"), ("b", "c")}


def test_two_systems_give_the_binomial_standard_error() -> None:
    # With one pair the delta-method error is sqrt(p (1 - p) / n), up to the weak prior.
    figures = pair_uncertainty(["a", "b"], outcomes("a", "b", 70, 30))[("a", "b")]
    assert figures.p == pytest.approx(0.7, abs=1e-3)
    assert figures.se == pytest.approx(math.sqrt(0.7 * 0.3 / 100), rel=1e-3)


def test_degenerate_cases() -> None:
    # No ratings: every pair equally (and maximally) uncertain.
    empty = pair_uncertainty(SYSTEMS, [])
    assert {f.se for f in empty.values()} == {MAX_SE} and all(f.ratings == 0 for f in empty.values())
    # A pair never compared is known only through the others: less certain than the pairs compared.
    data = outcomes("a", "b", 20, 20) + outcomes("b", "c", 20, 20)
    figures = pair_uncertainty(SYSTEMS, data)
    assert figures[("a", "c")].ratings == 0
    assert figures[("a", "c")].se > figures[("a", "b")].se == pytest.approx(figures[("b", "c")].se)
    # A perfectly separated pair is certain on the probability scale (not on the logit scale).
    data = outcomes("a", "b", 40, 0) + outcomes("b", "c", 10, 10)
    figures = pair_uncertainty(SYSTEMS, data)
    assert figures[("a", "b")].p > 0.95 and figures[("a", "b")].se_diff > figures[("b", "c")].se_diff
    assert figures[("a", "b")].se < figures[("b", "c")].se / 2
    # Disconnected systems: only the prior links them, the cap holds.
    four = pair_uncertainty(["a", "b", "c", "d"], outcomes("a", "b", 5, 5) + outcomes("c", "d", 5, 5))
    assert four[("a", "c")].se == MAX_SE and four[("a", "b")].se < MAX_SE


def test_more_data_means_more_certain_and_orientation() -> None:
    few = pair_uncertainty(SYSTEMS, outcomes("a", "b", 6, 4))[("a", "b")]
    many = pair_uncertainty(SYSTEMS, outcomes("a", "b", 60, 40))[("a", "b")]
    assert many.se < few.se
    flipped = pair_uncertainty(SYSTEMS, outcomes("b", "a", 4, 6), [("b", "a")])[("b", "a")]
    assert flipped.p == pytest.approx(1 - few.p) and flipped.se == pytest.approx(few.se)


def test_bad_input() -> None:
    for systems, data in (
        (["a"], []),
        (["a", "a"], []),
        (SYSTEMS, [("a", "z", "x")]),
        (SYSTEMS, [("a", "a", "x")]),
        (SYSTEMS, [("a", "b", "win")]),
    ):
        with pytest.raises(ValueError):
            pair_uncertainty(systems, data)


def test_one_rule_tallies_outcomes_into_pair_cells_for_the_report_and_for_serving():
    from analysis.stats.rankings import outcome_column, system_positions

    for k in range(2, 7):
        names = [f"s{i}" for i in range(k)]
        position = system_positions(names)
        for n, (i, j) in enumerate(rankings.pair_index(k)):
            x, y = names[i], names[j]
            assert [outcome_column(position, x, y, r) for r in ("x", "y", "none")] == [
                3 * n,
                3 * n + 1,
                3 * n + 2,
            ]
            # Given the other way round, the winner is flipped into the stored orientation.
            assert [outcome_column(position, y, x, r) for r in ("y", "x", "none")] == [
                3 * n,
                3 * n + 1,
                3 * n + 2,
            ]
    outcomes = [("a", "b", "x"), ("c", "a", "x"), ("b", "c", "none"), ("b", "a", "y")]
    fit = rankings.bradley_terry(SYSTEMS, outcomes, rounds=0)
    assert win_cells(SYSTEMS, outcomes).tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 1]
    assert [s["ratings"] for s in sorted(fit["scores"], key=lambda s: s["name"])] == [3, 3, 2]
