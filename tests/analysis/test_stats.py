from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pytest
from scipy import stats as sps
from scipy.optimize import minimize
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from analysis import stats
from analysis.stats import preference


@pytest.mark.parametrize(("wins", "n"), [(0, 1), (1, 1), (7, 10), (45, 67), (500, 1000), (3, 250)])
def test_wilson_interval_matches_statsmodels(wins: int, n: int) -> None:
    low, high = stats.wilson_interval(wins, n)
    ref_low, ref_high = proportion_confint(wins, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)


def test_preference_block_counts_rates_and_tests_a_small_case_worked_by_hand() -> None:
    block = stats.preference_block(["win"] * 6 + ["loss"] * 2 + ["tie"] + ["both_bad"])
    assert (block["n"], block["wins"], block["losses"], block["ties"], block["both_bad"]) == (10, 6, 2, 1, 1)
    assert block["preference_rate"] == pytest.approx(6 / 8)
    assert block["preference_rate_ties_half"] == pytest.approx((6 + 0.5 + 0.5) / 10)
    # P(X <= 2) + P(X >= 6) for X ~ Binomial(8, 1/2) = 2 * (1 + 8 + 28) / 256.
    assert block["p_value"] == pytest.approx(2 * 37 / 256)
    assert block["p_value"] == pytest.approx(sps.binomtest(6, 8, 0.5).pvalue)
    assert block["ci_method"] == "wilson"
    assert (block["ci_low"], block["ci_high"]) == pytest.approx(proportion_confint(6, 8, method="wilson"))


def test_preference_block_with_no_decisive_votes_uses_null_not_nan() -> None:
    block = stats.preference_block(["tie", "both_bad"])
    assert block["preference_rate"] is None and block["ci_low"] is None and block["p_value"] is None
    assert block["preference_rate_ties_half"] == 0.5
    json.dumps(block, allow_nan=False)


def test_preference_block_switches_to_a_prompt_bootstrap_when_prompts_carry_several_ratings() -> None:
    outcomes = ["win", "win", "loss", "win", "tie", "loss", "win", "win"] * 5
    single = stats.preference_block(outcomes, [f"p{i}" for i in range(len(outcomes))])
    clustered = stats.preference_block(outcomes, [f"p{i // 4}" for i in range(len(outcomes))], rounds=500)
    assert single["ci_method"] == "wilson"
    assert clustered["ci_method"] == "prompt_bootstrap"
    assert clustered["units"] == 10
    assert clustered["ci_low"] < clustered["preference_rate"] < clustered["ci_high"]
    # The point estimate and the exact test do not depend on the interval method.
    assert clustered["preference_rate"] == single["preference_rate"]
    assert clustered["wilson_low"] == single["ci_low"]


def test_prompt_bootstrap_widens_the_interval_when_ratings_of_a_prompt_agree() -> None:
    # Each prompt's four ratings are identical: the effective sample is the 20 prompts, not 80 ratings.
    per_prompt = ["win"] * 12 + ["loss"] * 8
    outcomes = [o for o in per_prompt for _ in range(4)]
    units = [i for i in range(20) for _ in range(4)]
    block = stats.preference_block(outcomes, units, rounds=2000, seed=3)
    width_boot = block["ci_high"] - block["ci_low"]
    width_naive = block["wilson_high"] - block["wilson_low"]
    low20, high20 = proportion_confint(12, 20, method="wilson")
    assert width_boot > 1.5 * width_naive
    assert width_boot == pytest.approx(high20 - low20, rel=0.25)


def test_bootstrap_unit_totals_resample_units_with_replacement() -> None:
    units = np.array([[1, 0], [0, 1], [1, 0], [2, 2]])
    totals = stats.bootstrap_unit_totals(units, rounds=4000, seed=0)
    assert totals.shape == (4000, 2)
    # Every round draws 4 units, so its totals are sums of 4 rows; the mean converges to 4 x row mean.
    assert totals.mean(axis=0) == pytest.approx(units.sum(axis=0), rel=0.05)
    achievable = {(a, b) for a in range(0, 9) for b in range(0, 9)}
    assert {tuple(row) for row in totals.astype(int)} <= achievable


def _random_table(rng: np.random.Generator, items: int, raters: int, categories: int) -> np.ndarray:
    labels = rng.integers(0, categories, size=(items, raters))
    agree = rng.random((items, raters)) < 0.5
    labels = np.where(agree, labels[:, :1], labels)
    return np.stack([np.bincount(row, minlength=categories) for row in labels]).astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fleiss_kappa_matches_statsmodels_with_equal_ratings_per_item(seed: int) -> None:
    table = _random_table(np.random.default_rng(seed), items=40, raters=3, categories=4)
    assert stats.fleiss_kappa(table) == pytest.approx(sm_fleiss_kappa(table, method="fleiss"), abs=1e-12)


def test_fleiss_kappa_of_a_small_table_worked_by_hand() -> None:
    # Two items, two raters, two categories: both agree on item 1 (cat 0), disagree on item 2.
    table = np.array([[2.0, 0.0], [1.0, 1.0]])
    # P_bar = (1 + 0) / 2; shares (3/4, 1/4) -> P_e = 10/16; kappa = (0.5 - 0.625) / 0.375.
    assert stats.fleiss_kappa(table) == pytest.approx((0.5 - 0.625) / 0.375)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_krippendorff_alpha_matches_the_krippendorff_package_with_unequal_ratings_per_item(seed: int) -> None:
    rng = np.random.default_rng(seed)
    raters, units = 6, 50
    data = np.full((raters, units), np.nan)
    for u in range(units):
        who = rng.choice(raters, size=int(rng.integers(1, 5)), replace=False)
        truth = rng.integers(0, 4)
        for w in who:
            data[w, u] = truth if rng.random() < 0.6 else rng.integers(0, 4)
    table = np.stack([[np.sum(data[:, u] == c) for c in range(4)] for u in range(units)]).astype(float)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert stats.krippendorff_alpha_nominal(table) == pytest.approx(expected, abs=1e-10)


def test_cohen_kappa_matches_statsmodels() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 3, size=60)
    b = np.where(rng.random(60) < 0.6, a, rng.integers(0, 3, size=60))
    contingency = np.zeros((3, 3))
    for x, y in zip(a, b, strict=True):
        contingency[x, y] += 1
    expected = sm_cohens_kappa(contingency, return_results=False)
    assert stats.cohen_kappa(list(a), list(b)) == pytest.approx(expected, abs=1e-12)


def test_cohen_kappa_by_hand_and_undefined_when_chance_agreement_is_certain() -> None:
    # po = 3/4; pe = (2*2 + 2*2) / 16 = 1/2; kappa = 0.5.
    assert stats.cohen_kappa(["x", "x", "y", "y"], ["x", "x", "y", "x"]) == pytest.approx(
        (0.75 - (3 * 2 + 1 * 2) / 16) / (1 - (3 * 2 + 1 * 2) / 16)
    )
    assert stats.cohen_kappa(["x", "x"], ["x", "x"]) is None


def test_agreement_uses_items_with_two_or_more_ratings_and_lists_cohen_pairs() -> None:
    ratings = [
        (f"i{i}", rater, "A" if (i + k) % 3 else "B") for i in range(8) for k, rater in enumerate(["u", "v"])
    ]
    ratings.append(("lonely", "u", "A"))
    block = stats.agreement(ratings, min_shared_items=5)
    assert block["items"] == 8
    assert [(row["rater_a"], row["rater_b"], row["items"]) for row in block["cohen_kappa"]] == [("u", "v", 8)]
    assert block["percent_agreement"] == pytest.approx(block["cohen_kappa"][0]["percent_agreement"])
    assert stats.agreement([("only", "u", "A")])["fleiss_kappa"] is None


def test_position_bias_counts_left_wins_and_tests_them() -> None:
    block = stats.position_bias([True] * 30 + [False] * 10)
    assert block["left_rate"] == pytest.approx(0.75)
    assert block["p_value"] == pytest.approx(sps.binomtest(30, 40).pvalue)


def test_rater_summaries_by_hand() -> None:
    ratings = [
        ("i1", "u", "A", 10.0, None),
        ("i1", "v", "A", 20.0, None),
        ("i1", "w", "B", 30.0, None),
        ("i2", "u", "B", 40.0, "A"),
        ("i2", "v", "A", 50.0, "A"),
        ("i2", "w", "A", 60.0, "A"),
    ]
    rows = {row["rater"]: row for row in stats.rater_summaries(ratings)}
    assert rows["u"]["count"] == 2 and rows["u"]["median_seconds"] == 25.0
    # u: i1 others {A, B} tie -> skipped; i2 others A -> u said B: 0/1.
    assert (rows["u"]["majority_items"], rows["u"]["agreement_with_majority"]) == (1, 0.0)
    # w: i1 others {A, A} -> B disagrees; i2 others {B, A} tie -> skipped.
    assert (rows["w"]["majority_items"], rows["w"]["agreement_with_majority"]) == (1, 0.0)
    assert (rows["u"]["gold_items"], rows["u"]["gold_accuracy"]) == (1, 0.0)
    assert rows["v"]["gold_accuracy"] == 1.0


def _scipy_fit(wins: np.ndarray) -> np.ndarray:
    result = minimize(
        stats.bradley_terry_negloglik,
        np.zeros(wins.shape[0]),
        args=(wins,),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000},
    )
    return result.x - result.x.mean()


def test_bradley_terry_fit_matches_scipy_on_every_round_of_a_batch() -> None:
    rng = np.random.default_rng(0)
    batch = rng.poisson(6.0, size=(20, 5, 5)).astype(float)
    batch[:, range(5), range(5)] = 0
    batch[3, 0, :] = 0  # system 0 loses everything in one round: the ridge keeps it finite
    fitted = stats.bradley_terry_fit(batch)
    for b in range(batch.shape[0]):
        assert fitted[b] == pytest.approx(_scipy_fit(batch[b]), abs=1e-5)
    assert np.isfinite(fitted).all()
    assert np.abs(fitted.sum(axis=1)).max() < 1e-8


def test_bradley_terry_two_systems_recovers_the_log_odds() -> None:
    wins = np.array([[0.0, 30.0], [10.0, 0.0]])
    theta = stats.bradley_terry_fit(wins, ridge=0.0)
    assert theta[0] - theta[1] == pytest.approx(math.log(3.0), abs=1e-8)


def test_bradley_terry_ranks_systems_with_intervals_and_a_win_rate_matrix() -> None:
    rng = np.random.default_rng(1)
    systems = ["s0", "s1", "s2", "s3"]
    strength = np.array([1.0, 0.3, -0.3, -1.0])
    pairs = []
    for _n in range(1200):
        i, j = rng.choice(4, size=2, replace=False)
        p = 1 / (1 + math.exp(strength[j] - strength[i]))
        pairs.append((systems[i], systems[j], "x" if rng.random() < p else "y"))
    block = stats.bradley_terry(systems, pairs, [n // 2 for n in range(len(pairs))], rounds=300)
    assert [row["name"] for row in block["scores"]] == systems
    for row in block["scores"]:
        assert row["ci_low"] <= row["score"] <= row["ci_high"]
    matrix = block["win_rate_matrix"]["rows_beat_columns"]
    assert matrix[0][0] is None
    assert matrix[0][3] > 0.7 and matrix[0][3] + matrix[3][0] == pytest.approx(1.0)
    json.dumps(block, allow_nan=False)


def _exact_power(n: int, rate: float) -> float:
    rejects = [k for k in range(n + 1) if sps.binomtest(k, n, 0.5).pvalue <= 0.05]
    return float(sum(sps.binom.pmf(k, n, rate) for k in rejects))


@pytest.mark.parametrize("rate", [0.6, 0.7, 0.35])
def test_decisive_votes_needed_is_the_first_n_whose_exact_test_reaches_80_percent_power(rate: float) -> None:
    n = stats.decisive_votes_needed(rate)
    assert n is not None
    assert _exact_power(n, rate) >= 0.8
    assert all(_exact_power(m, rate) < 0.8 for m in range(max(1, n - 5), n))
    normal = stats.decisive_votes_needed(rate, method="normal")
    assert normal is not None and abs(normal - n) / n < 0.1


def test_decisive_votes_needed_is_undefined_without_an_effect() -> None:
    assert stats.decisive_votes_needed(0.5) is None


def test_distinct_rows_agree_with_numpy_unique() -> None:
    matrix = np.random.default_rng(0).integers(0, 3, size=(400, 7))
    matrix = np.vstack([matrix, matrix[:150]])
    rows, first, multiplicity = preference._distinct_rows(np.ascontiguousarray(matrix, dtype=np.int64))
    ref_rows, ref_counts = np.unique(matrix, axis=0, return_counts=True)
    assert len(rows) == len(ref_rows)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, ref_rows.tolist()))
    assert sorted(multiplicity.tolist()) == sorted(ref_counts.tolist())
    assert (matrix[first] == rows).all()
