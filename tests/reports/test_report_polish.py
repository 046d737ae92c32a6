"""Report rough edges: Wilson bounds at the ends, "no interval" text, empty figures left out, labels slanted."""

from __future__ import annotations

import pytest

from analysis.figures import preference_figure, report_figures
from analysis.report import report_build
from analysis.stats.proportion import wilson_interval
from reports.presentation import NO_INTERVAL, preference_rows
from tests.factories import make_records, record


@pytest.mark.parametrize("n", [1, 3, 7, 80, 1000, 12345])
def test_wilson_bounds_at_the_ends_are_exactly_0_and_1(n):
    low, high = wilson_interval(n, n)
    assert low is not None and high is not None
    assert high == 1.0 and low < 1.0
    low, high = wilson_interval(0, n)
    assert low is not None and high is not None
    assert low == 0.0 and high > 0.0


@pytest.mark.parametrize(("k", "n"), [(1, 3), (40, 80), (79, 80), (1, 80)])
def test_a_wilson_interval_contains_its_own_rate_and_stays_inside_0_1(k, n):
    low, high = wilson_interval(k, n)
    assert low is not None and high is not None
    assert 0.0 < low <= k / n <= high < 1.0


def test_a_category_won_80_of_80_reports_an_upper_bound_of_exactly_1():
    records = [record(prompt_id=f"p{i}", choice="b", rater=f"r{i % 3}") for i in range(80)]
    report = report_build(records=records, rounds=50)
    overall = report["overall"]
    assert overall["preference_rate"] == 1.0
    assert overall["wilson_high"] == 1.0 and overall["ci_high"] == 1.0
    assert overall["ci_low"] <= overall["preference_rate"] <= overall["ci_high"]


def test_a_group_without_decisive_votes_says_no_interval_and_names_no_method():
    records = [record(prompt_id=f"p{i}", choice="tie", category="writing") for i in range(3)]
    records += [record(prompt_id=f"q{i}", choice="b", category="coding") for i in range(5)]
    rows = {row["group"]: row for row in preference_rows(report_build(records=records, rounds=50))}
    assert rows["writing"]["ci"] == NO_INTERVAL == "no interval (no decisive votes)"
    assert rows["writing"]["ci_method"] == ""
    assert rows["coding"]["ci"] != NO_INTERVAL and rows["coding"]["ci_method"]


def test_the_raters_chart_is_left_out_when_it_would_be_empty():
    # One rater per item and no gold: no agreement and no gold accuracy to draw.
    records = [record(prompt_id=f"p{i}", choice="ab"[i % 2], rater=f"r{i % 3}") for i in range(12)]
    report = report_build(records=records, rounds=50)
    assert all(r["agreement_with_majority"] is None and r["gold_accuracy"] is None for r in report["raters"])
    anchors = [anchor for anchor, _ in report_figures(report, seconds=[1.0, 2.0])]
    assert "raters" not in anchors and "preference" in anchors
    overlapping = make_records(prompts=20, per_item=3, seed=4)
    anchors = [
        anchor for anchor, _ in report_figures(report_build(records=overlapping, rounds=50), seconds=[1.0])
    ]
    assert "raters" in anchors


def test_category_labels_are_slanted_with_room_below_and_a_zero_lower_bound_is_drawn():
    records = [record(prompt_id=f"p{i}", choice="a", category=f"category number {i % 10}") for i in range(20)]
    fig = preference_figure(report_build(records=records, rounds=50))
    assert fig.layout.xaxis.tickangle == -45 and fig.layout.xaxis.automargin
    # The candidate lost every decisive vote: rate 0, and its interval bar reaches up from 0, not nowhere.
    bar = fig.data[0]
    assert bar.y[0] == 0.0 and bar.error_y.array[0] > 0


def test_each_percentage_label_sits_above_its_upper_whisker_not_on_it():
    # 11 of 11 decisive votes for the candidate: a 100 % bar whose interval reaches 100 %.
    records = [record(prompt_id=f"p{i}", choice="b", category="ab"[i % 2]) for i in range(11)]
    fig = preference_figure(report_build(records=records, rounds=50))
    bar = fig.data[0]
    assert not bar.text  # nothing written inside the bar, where the whisker runs
    labels = next(trace for trace in fig.data if trace.type == "scatter")
    assert labels.text[0] == "100%" and labels.textposition == "top center"
    for x, rate, up, label_x, label_y in zip(
        bar.x, bar.y, bar.error_y.array, labels.x, labels.y, strict=True
    ):
        assert label_x == x and label_y >= rate + up - 1e-9
    assert fig.layout.yaxis.range[1] > 100  # room above the plot's top for the label of a 100 % whisker


def test_a_lone_setting_or_category_draws_no_bar_that_repeats_overall():
    one_setting = [
        record(prompt_id=f"p{i}", choice="ab"[i % 3 == 0], category="xy"[i % 2]) for i in range(12)
    ]
    labels = list(preference_figure(report_build(records=one_setting, rounds=50)).data[0].x)
    assert labels == ["Overall", "x", "y"]
    two_settings = [
        record(prompt_id=f"p{i}", choice="ab"[i % 3 == 0], setting=("zero_shot", "few_shot")[i % 2])
        for i in range(12)
    ]
    labels = list(preference_figure(report_build(records=two_settings, rounds=50)).data[0].x)
    assert sorted(labels) == ["Overall", "few-shot", "zero-shot"]
