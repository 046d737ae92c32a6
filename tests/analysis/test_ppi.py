"""PPI / PPI++ against the reference implementation (ppi-python), and coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats.ppi import ppi_decisive_rate, ppi_mean_arrays, ppi_rate
from analysis.stats.ppi_simulation import simulate_campaigns


def _data(seed: int, n: int = 120, big_n: int = 900):
    rng = np.random.default_rng(seed)
    y_all = rng.choice([0.0, 0.5, 1.0], size=n + big_n, p=[0.35, 0.15, 0.5])
    f_all = np.clip(0.7 * y_all + 0.15 + rng.normal(0, 0.15, n + big_n), 0, 1)
    labeled = np.zeros(n + big_n, dtype=bool)
    labeled[rng.choice(n + big_n, n, replace=False)] = True
    return y_all, f_all, labeled


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("lam", [None, 1.0, 0.0, 0.4])
def test_ppi_mean_equals_ppi_python(seed: int, lam: float | None) -> None:
    ppi_py = pytest.importorskip("ppi_py")
    y, f, labeled = _data(seed)
    ours = ppi_mean_arrays(y, f, labeled, lam=lam, robust=False)
    args = (y[labeled], f[labeled], f[~labeled])
    ref_low, ref_high = ppi_py.ppi_mean_ci(*args, alpha=0.05, lam=lam)
    ref_point = ppi_py.ppi_mean_pointestimate(*args, lam=lam)
    assert float(ours["ci_low"]) == pytest.approx(float(np.ravel(ref_low)[0]), abs=1e-6)
    assert float(ours["ci_high"]) == pytest.approx(float(np.ravel(ref_high)[0]), abs=1e-6)
    assert float(ours["estimate"]) == pytest.approx(float(np.ravel(ref_point)[0]), abs=1e-6)
    if lam is None:
        assert 0.0 <= float(ours["lambda"]) <= 1.0
    classical_low, classical_high = ppi_py.classical_mean_ci(y[labeled], alpha=0.05)
    # The human-only interval is the classical CLT one on the rated comparisons alone.
    assert float(ours["human_only_ci_low"]) == pytest.approx(float(np.ravel(classical_low)[0]), abs=1e-6)
    assert float(ours["human_only_ci_high"]) == pytest.approx(float(np.ravel(classical_high)[0]), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_robust_ppi_keeps_ppi_pythons_estimate_and_lambda_and_widens_only_by_the_small_sample_terms(
    seed: int,
) -> None:
    ppi_py = pytest.importorskip("ppi_py")
    scipy_stats = pytest.importorskip("scipy.stats")
    y, f, labeled = _data(seed)
    robust = ppi_mean_arrays(y, f, labeled)
    plain = ppi_mean_arrays(y, f, labeled, robust=False)
    args = (y[labeled], f[labeled], f[~labeled])
    assert float(robust["estimate"]) == pytest.approx(
        float(np.ravel(ppi_py.ppi_mean_pointestimate(*args))[0])
    )
    assert float(robust["lambda"]) == pytest.approx(float(plain["lambda"]), abs=1e-12)
    n = int(labeled.sum())
    t = scipy_stats.t.ppf(0.975, n - 1)
    assert float(robust["ci_high"] - robust["ci_low"]) > float(plain["ci_high"] - plain["ci_low"])
    assert float(robust["ci_high"] - robust["ci_low"]) == pytest.approx(2 * t * float(robust["se"]))


def test_vectorised_rows_equal_single_calls() -> None:
    rows = [_data(seed) for seed in range(4)]
    y = np.stack([r[0] for r in rows])
    f = np.stack([r[1] for r in rows])
    lab = np.stack([r[2] for r in rows])
    batch = ppi_mean_arrays(y, f, lab)
    for i, (yi, fi, li) in enumerate(rows):
        single = ppi_mean_arrays(yi, fi, li)
        assert float(batch["ci_low"][i]) == pytest.approx(float(single["ci_low"]), abs=1e-12)


def test_useless_judge_gives_no_gain_and_good_judge_narrows() -> None:
    y, _f, labeled = _data(5)
    noise = np.random.default_rng(9).random(y.shape)
    useless = ppi_rate(y, noise, labeled)
    good = ppi_rate(y, y, labeled)
    assert useless is not None and good is not None
    assert useless["lambda"] < 0.3
    assert good["lambda"] > 0.8
    width = good["ci_high"] - good["ci_low"]
    human_width = good["human_only_ci_high"] - good["human_only_ci_low"]
    assert width < 0.5 * human_width
    assert good["effective_n"] > 3 * good["n_human"]


def test_no_unlabeled_falls_back_to_humans() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.5])
    out = ppi_rate(y, np.full(4, 0.9), np.ones(4, dtype=bool))
    assert out is not None
    assert out["lambda"] == 0.0
    assert out["estimate"] == pytest.approx(0.625)
    # the robust interval is the humans' own with Student's t: wider than their normal one
    assert out["ci_low"] < out["human_only_ci_low"]
    plain = ppi_mean_arrays(y, np.full(4, 0.9), np.ones(4, dtype=bool), robust=False)
    assert float(plain["ci_low"]) == pytest.approx(float(plain["human_only_ci_low"]))


def test_decisive_rate_without_judge_is_the_human_ratio() -> None:
    w = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 0.0])
    d = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    labeled = np.array([True, True, True, True, True, False])
    out = ppi_decisive_rate(w, d, np.full(6, 0.5), np.full(6, 1.0), labeled)
    assert out is not None
    # a constant judge carries no information: lam is 0 and the ratio is the humans' 2.5 / 4
    assert out["estimate"] == pytest.approx(2.5 / 4)
    assert ppi_decisive_rate(w, np.zeros(6), w, d, labeled) is None


def test_coverage_by_simulation() -> None:
    sim = simulate_campaigns(campaigns=2000)
    covered = (sim["ci_low"] <= sim["truth"]) & (sim["truth"] <= sim["ci_high"])
    coverage = float(covered.mean())
    assert 0.93 <= coverage <= 0.97, coverage
