"""The anytime-valid interval: equal to confseq where the method is the same, and its error bounds by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import stats
from analysis.stats import sequential as seq
from bench.sequential import simulate, wilson_bounds

boundaries = pytest.importorskip("confseq.boundaries", reason="confseq (a dev dependency) is not installed")


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
@pytest.mark.parametrize("t_opt", [10, 100, 1000])
def test_boundary_equals_confseq_normal_mixture(alpha: float, t_opt: int) -> None:
    v = np.array([0.25, 1.0, 2.5, 25.0, 250.0, 2500.0])
    ours = seq.normal_mixture_boundary(v, alpha=alpha, v_opt=t_opt / 4)
    ref = boundaries.normal_mixture_bound(v, alpha, t_opt / 4, alpha, False)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_running_interval_equals_confseq_on_real_votes(peer_votes: np.ndarray) -> None:
    low, high = seq.running_interval(peer_votes)
    t = np.arange(1, peer_votes.size + 1)
    half = boundaries.normal_mixture_bound(t / 4, 0.05, seq.T_OPT / 4, 0.05, False) / t
    mean = np.cumsum(peer_votes) / t
    ref_low = np.maximum.accumulate(np.clip(mean - half, 0, 1))
    ref_high = np.minimum.accumulate(np.clip(mean + half, 0, 1))
    np.testing.assert_allclose(low, ref_low, atol=1e-6)
    np.testing.assert_allclose(high, ref_high, atol=1e-6)


@pytest.fixture
def peer_votes() -> np.ndarray:
    """Decisive votes from real preference annotations when present, else a seeded stream."""
    from tests.factories import real_peer_votes

    votes = real_peer_votes()
    if votes is None:
        return (np.random.default_rng(3).random(500) < 0.6).astype(float)
    return np.asarray(votes, dtype=float)


def test_interval_narrows_and_holds_the_mean() -> None:
    low, high = seq.running_interval(np.tile([1.0, 0.0, 1.0, 0.0], 500))
    assert np.all(np.diff(high - low) <= 1e-12)
    assert low[-1] < 0.5 < high[-1] and high[-1] - low[-1] < 0.1
    assert seq.interval_at(0, 0) == (0.0, 1.0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        seq.running_interval([0.0, 2.0])
    with pytest.raises(ValueError):
        seq.normal_mixture_boundary(1.0, alpha=1.5, v_opt=1.0)
    with pytest.raises(ValueError):
        seq.weighted_running_interval([0], [1.0], [0.5, 0.2])
    with pytest.raises(ValueError):
        seq.weighted_running_interval([3], [1.0], [0.5, 0.5])


def test_rules() -> None:
    assert seq.decision(0.51, 0.9) == "candidate"
    assert seq.decision(0.1, 0.49) == "baseline"
    assert seq.decision(0.4, 0.6) is None
    assert seq.settled_rule(0.45, 0.52, precision=0.1) == "precise"
    assert seq.settled_rule(0.45, 0.52, precision=None) is None
    assert seq.settled_rule(0.55, 0.6, precision=0.01) == "decided_candidate"


def test_weighted_interval_follows_shares_not_counts() -> None:
    # Cell 0 (share 0.9) always loses, cell 1 (share 0.1) always wins but gets nearly all votes.
    rng = np.random.default_rng(0)
    cells = (rng.random(4000) < 0.9).astype(int)
    wins = cells.astype(float)
    low, high = seq.weighted_running_interval(cells, wins, [0.9, 0.1])
    assert high[-1] < 0.5  # the share-weighted rate is 0.1; the vote-weighted one would be 0.9
    assert low[-1] <= 0.1 <= high[-1]
    assert np.all(np.diff(low) >= 0) and np.all(np.diff(high) <= 0)


def test_vectorised_wilson_is_the_reports_wilson() -> None:
    for s, n in [(0, 1), (3, 10), (50, 100), (99, 100)]:
        low, high = wilson_bounds(np.array([s], float), np.array([n], float))
        ref = stats.wilson_interval(s, n)
        assert low[0] == pytest.approx(ref[0], abs=1e-12) and high[0] == pytest.approx(ref[1], abs=1e-12)


def test_the_sequential_design_keeps_type_i_and_saves_votes_against_the_fixed_design_planned_at_0_6() -> None:
    """2,000 null campaigns looked at after every vote: ours declares a winner in at most 5 %; against
    the fixed design planned for the minimum effect 0.6, it saves at least 30 % of the votes at 0.7."""
    figures = simulate(campaigns=2000, horizon=1000, seed=11)
    assert figures["type_i"] <= 0.05
    assert figures["type_i_naive"] > 0.3  # peeking at Wilson intervals is what the sequence fixes
    assert figures["fixed_n"] == 199
    assert figures["saving_at_0.7"] >= 0.3
    assert figures["saving_at_0.79"] > figures["saving_at_0.7"] > figures["saving_at_0.65"] > 0
    # At the planning point itself an anytime-valid design pays a little for looking at every vote.
    assert -0.2 < figures["saving_at_0.6"] < 0.05
    assert figures["undecided_at_0.6"] < 0.01


def test_the_expected_votes_formula_tracks_the_simulated_mean_to_decision() -> None:
    """What the campaign page says the design is expected to need is within 15 % of the simulation."""
    figures = simulate(campaigns=1000, horizon=1000, seed=5, true_rates=(0.6, 0.7, 0.79))
    for rate in (0.6, 0.7, 0.79):
        expected = seq.votes_expected(rate)
        assert expected is not None
        assert figures[f"votes_at_{rate}"] == pytest.approx(expected, rel=0.15)
    assert seq.votes_expected(0.5) is None
    # Two equal cells each run at alpha / 2 and hold half the votes: more votes than one stream.
    assert seq.votes_expected(0.7, shares=(0.5, 0.5)) > seq.votes_expected(0.7)  # type: ignore[operator]
