"""Style control equals FastChat's own method on real battles, and behaves as a covariate model should.

Reference numbers were computed outside the project with FastChat's own functions, transcribed
unchanged from lm-sys/FastChat: `preprocess_for_style` and `contextual_bt_loss_and_grad` /
`fit_contextual_bt` (fastchat/serve/monitor/rating_systems.py at commit
2bdb2e0cf988821ecd40cdb6db40e5e01efe7c85) and `count_markdown_elements` / `remove_pattern`
(fastchat/serve/monitor/add_markdown_info.py at 5f3071a4e0b99313146e0b5c2417971d19cdc2ae), with
length in characters for `sum_assistant_*_tokens` and scipy's L-BFGS-B run to convergence
(ftol 0, gtol 1e-12) instead of their 100-iteration stop. The battles: AlpacaEval's 805 real pairs
of gpt4_1106_preview against alpaca-7b (../shared/peer-ratings/annotations), the judge's verdict
as the outcome (preference 1: gpt4, 2: alpaca, 1.5: tie), gpt4 on the left for even indices.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.records import RatingRecord
from analysis.report import report_build
from analysis.stats import style
from analysis.stats.style import style_counts, style_fit, style_loss

ANNOTATIONS = Path(__file__).resolve().parents[3] / "shared" / "peer-ratings" / "annotations"
FILE = "alpaca-7b_vs_gpt4_1106_preview.{}.json"
needs_annotations = pytest.mark.skipif(
    not (ANNOTATIONS / FILE.format("alpaca_eval_cot_gpt4_turbo_fn")).exists(),
    reason=f"needs AlpacaEval's real annotations in {ANNOTATIONS}",
)
# FastChat's converged parameters: r_gpt4, r_alpaca, then gamma for length, headers, lists, bold.
FASTCHAT = {
    "alpaca_eval_cot_gpt4_turbo_fn": (
        [0.35842944, -0.35842944, 2.15392781, -0.01224892, 0.58455253, 1.20911109],
        0.16102401646222442,  # expit(ln 10 (r_alpaca - r_gpt4)): alpaca's style-controlled rate
    ),
    "weighted_alpaca_eval_gpt4_turbo": (
        [0.42140814, -0.42140814, 1.7514575, 0.01405476, 0.38672594, 1.34954738],
        0.12557578340945164,
    ),
}
# FastChat's counts summed over the 1,610 answers: characters, headers, list items, bold spans.
FASTCHAT_COUNT_TOTALS = (1968780, 251, 7835, 3106)


def _annotations(name: str) -> list[dict]:
    return json.loads((ANNOTATIONS / FILE.format(name)).read_text(encoding="utf-8"))


def _battles(name: str) -> dict[str, Any]:
    matchups, outcomes, left, right = [], [], [], []
    for i, row in enumerate(_annotations(name)):
        p = row["preference"]
        won = "gpt4" if p < 1.5 else ("alpaca" if p > 1.5 else None)
        first, second = (("gpt4", row["output_1"]), ("alpaca", row["output_2"]))[:: 1 if i % 2 == 0 else -1]
        matchups.append((first[0], second[0]))
        outcomes.append(0.5 if won is None else float(won == first[0]))
        left.append(style_counts(first[1]))
        right.append(style_counts(second[1]))
    return {
        "matchups": matchups,
        "outcomes": outcomes,
        "counts_a": np.array(left),
        "counts_b": np.array(right),
        "units": list(range(len(matchups))),
    }


def _records(name: str) -> list[RatingRecord]:
    records = []
    for i, row in enumerate(_annotations(name)):
        p = row["preference"]
        records.append(
            RatingRecord(
                campaign="ae",
                prompt_id=str(i),
                category=row["dataset"],
                setting="zero_shot",
                system_a="gpt4",
                system_b="alpaca",
                system_on_left="a" if i % 2 == 0 else "b",
                choice="a" if p < 1.5 else ("b" if p > 1.5 else "tie"),
                rater="judge",
                seconds=1.0,
                created="2024-01-01T00:00:00",
                text_a=row["output_1"],
                text_b=row["output_2"],
            )
        )
    return records


@needs_annotations
def test_markdown_counts_equal_fastchats_on_the_real_answers():
    totals = np.zeros(4, dtype=np.int64)
    for row in _annotations("alpaca_eval_cot_gpt4_turbo_fn"):
        totals += np.array(style_counts(row["output_1"])) + np.array(style_counts(row["output_2"]))
    assert tuple(int(v) for v in totals) == FASTCHAT_COUNT_TOTALS


def test_a_header_inside_a_code_fence_is_not_counted_and_nested_fences_count_as_fastchat_does():
    assert style_counts("# Title\n\n```\n# comment\n- item\n```\n- real item\n**bold**") == (54, 1, 1, 1)
    # FastChat deletes every occurrence of a fenced block's content, here every newline: nothing is
    # left at the start of a line, so the header inside the quadruple fence is not counted.
    assert style_counts("````md\n```\n# inner\n```\n````")[1] == 0


@needs_annotations
@pytest.mark.parametrize("annotator", sorted(FASTCHAT))
def test_the_fit_equals_fastchats_converged_optimum_on_real_battles(annotator):
    expected, rate = FASTCHAT[annotator]
    fit = style_fit(systems=["gpt4", "alpaca"], rounds=0, seed=0, **_battles(annotator))
    assert np.allclose(fit.theta, expected, atol=1e-6)
    assert fit.rate("alpaca", "gpt4")[0] == pytest.approx(rate, abs=1e-6)


def _synthetic() -> dict[str, Any]:
    """The reference script's data: 600 battles of 4 systems with a real length effect (seed 2024)."""
    rng = np.random.default_rng(2024)
    n = 600
    strength = np.array([0.0, 0.4, -0.3, 0.8])
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    columns = [(50, 3000), (0, 4), (0, 10), (0, 6)]
    counts_a = np.column_stack([rng.integers(low, high, n) for low, high in columns])
    counts_b = np.column_stack([rng.integers(low, high, n) for low, high in columns])
    length = (counts_a[:, 0] - counts_b[:, 0]) / (counts_a[:, 0] + counts_b[:, 0] + 1)
    p = 1 / (1 + np.exp(-(strength[a] - strength[b] + 1.5 * length)))
    tie = rng.random(n) < 0.1
    outcome = np.where(tie, 0.5, (rng.random(n) < p).astype(float))
    names = ["s0", "s1", "s2", "s3"]
    return {
        "matchups": [(names[i], names[j]) for i, j in zip(a, b, strict=True)],
        "outcomes": list(outcome),
        "counts_a": counts_a,
        "counts_b": counts_b,
        "units": list(range(n)),
    }


def test_the_fit_equals_fastchats_with_four_systems():
    # FastChat orders systems by first appearance: s0, s2, s1, s3.
    expected = [
        -0.10744581,
        -0.24902817,
        0.11684147,
        0.23963251,
        0.65431028,
        0.02656862,
        -0.00874056,
        -0.09651899,
    ]
    fit = style_fit(systems=["s0", "s2", "s1", "s3"], rounds=0, seed=0, **_synthetic())
    assert np.allclose(fit.theta, expected, atol=1e-6)


def test_the_optimum_is_a_stationary_point_of_fastchats_loss():
    data = _synthetic()
    fit = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **data)
    features = style.standardise(style.style_differences(data["counts_a"], data["counts_b"]))
    position = {"s0": 0, "s1": 1, "s2": 2, "s3": 3}
    pairs = np.array([(position[a], position[b]) for a, b in data["matchups"]])
    x = style._design(pairs, features, 4)
    y = np.array(data["outcomes"])
    best = style_loss(fit.theta, x, y)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert style_loss(fit.theta + 1e-3 * rng.normal(size=fit.theta.size), x, y) > best


def test_a_constant_feature_leaves_the_rates_unchanged():
    data = _synthetic()
    plain = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **data)
    for headers in (0, 7):
        changed = {**data, "counts_a": data["counts_a"].copy(), "counts_b": data["counts_b"].copy()}
        changed["counts_a"][:, 1] = headers
        changed["counts_b"][:, 1] = headers
        fit = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **changed)
        assert fit.coefficients()[1] == 0.0
        without = {**data, "counts_a": changed["counts_a"], "counts_b": changed["counts_b"]}
        again = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **without)
        assert np.allclose(fit.ratings(), again.ratings())
    # And the headers' own constant value does not matter either.
    assert plain.coefficients()[1] != 0.0


def test_swapping_the_answers_styles_flips_every_coefficient_and_keeps_the_ratings():
    data = _synthetic()
    fit = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **data)
    swapped = {**data, "counts_a": data["counts_b"], "counts_b": data["counts_a"]}
    mirror = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **swapped)
    assert np.allclose(mirror.coefficients(), -fit.coefficients(), atol=1e-9)


def test_swapping_a_and_b_in_every_comparison_changes_nothing():
    data = _synthetic()
    fit = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **data)
    flipped = {
        **data,
        "matchups": [(b, a) for a, b in data["matchups"]],
        "outcomes": [1.0 - y for y in data["outcomes"]],
        "counts_a": data["counts_b"],
        "counts_b": data["counts_a"],
    }
    again = style_fit(systems=["s0", "s1", "s2", "s3"], rounds=0, seed=0, **flipped)
    assert np.allclose(again.theta, fit.theta, atol=1e-9)


def test_the_one_step_bootstrap_matches_rounds_solved_to_convergence(monkeypatch):
    rng = np.random.default_rng(5)
    n, k = 6000, 6
    names = [f"m{i}" for i in range(k)]
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    data: dict[str, Any] = {
        "matchups": [(names[i], names[j]) for i, j in zip(a, b, strict=True)],
        "outcomes": list(rng.choice([0.0, 0.5, 1.0], size=n, p=[0.45, 0.1, 0.45])),
        "counts_a": rng.poisson([900, 1, 4, 2], (n, 4)),
        "counts_b": rng.poisson([700, 1, 3, 2], (n, 4)),
        "units": list(rng.integers(0, 800, n)),
    }
    monkeypatch.setattr(style, "_HESSIAN_BUDGET", math.inf)
    converged = style_fit(systems=names, rounds=300, seed=3, **data)
    monkeypatch.setattr(style, "_HESSIAN_BUDGET", 0)
    monkeypatch.setattr(style, "_PASS_BUDGET", 0)
    one_step = style_fit(systems=names, rounds=300, seed=3, **data)
    assert converged.bootstrap_residual == 0.0 and one_step.bootstrap_residual is None
    spread = converged.boot.std(axis=0)
    ends = [np.percentile(fit.boot, [2.5, 97.5], axis=0) for fit in (converged, one_step)]
    assert (np.abs(ends[0] - ends[1]) / spread).max() < 0.02


@needs_annotations
def test_the_report_gives_the_style_controlled_rate_and_coefficients_of_the_real_pair():
    report = report_build(records=_records("alpaca_eval_cot_gpt4_turbo_fn"), system_order=["gpt4", "alpaca"])
    block = report["style_control"]
    assert block["method"] == "contextual_bradley_terry_fastchat"
    assert block["features"] == ["length", "headers", "lists", "bold"]
    expected, rate = FASTCHAT["alpaca_eval_cot_gpt4_turbo_fn"]
    assert [block["coefficients"][f] for f in block["features"]] == pytest.approx(expected[2:], abs=1e-3)
    assert block["n"] == 805 and block["bootstrap_residual_sd"] == 0.0
    low, high = block["coefficient_ci"]["length"]
    assert 0 < low < expected[2] < high
    gpt4 = next(row for row in block["systems"] if row["name"] == "gpt4")
    assert gpt4["score"] == pytest.approx(math.log(10) * expected[0], abs=1e-3)
    controlled = report["overall"]["style_controlled"]
    assert controlled["rate"] == pytest.approx(rate, abs=1e-3)
    assert controlled["ci_low"] < rate < controlled["ci_high"]
    # The raw rate (2.2 %) is far below: most of the judge's preference for GPT-4 Turbo is length.
    assert report["overall"]["preference_rate"] < controlled["ci_low"]
    # A category where alpaca never won gets no rate, and says why.
    assert report["by_category"]["vicuna"]["style_controlled"] is None
    assert "each way" in report["by_category"]["vicuna"]["style_controlled_refused"]


@needs_annotations
def test_swapping_baseline_and_candidate_mirrors_the_style_controlled_rate():
    records = _records("weighted_alpaca_eval_gpt4_turbo")
    one = report_build(records=records, baseline="gpt4", rounds=200)["overall"]["style_controlled"]
    other = report_build(records=records, baseline="alpaca", rounds=200)["overall"]["style_controlled"]
    assert other["rate"] == pytest.approx(1 - one["rate"])
    assert other["ci_low"] == pytest.approx(1 - one["ci_high"])


def test_a_report_without_answer_texts_says_why_it_has_no_style_control():
    records = [
        RatingRecord(
            "c", str(i), "x", "zero_shot", "a", "b", "a", "a" if i % 3 else "b", "r", 1.0, "2024-01-01"
        )
        for i in range(30)
    ]
    report = report_build(records=records)
    assert report["style_control"] is None
    assert "text_a" in report["style_control_refused"]
    assert report["overall"]["style_controlled"] is None and report["length_ratio"] is None


def test_a_report_with_too_few_decisive_votes_gives_no_style_control():
    records = [
        RatingRecord("c", str(i), "x", "zero_shot", "a", "b", "a", "a" if i % 2 else "b", "r", 1.0, "2024",
                     text_a="short", text_b="a **much** longer answer\n- with a list")
        for i in range(10)
    ]  # fmt: skip
    report = report_build(records=records)
    assert report["style_control"] is None and "decisive" in report["style_control_refused"]
    assert sum(row["n"] for row in report["length_ratio"]["bins"]) == 10
