from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.report import ReportInputError, report_build
from tests.factories import make_records, record

CONTRACT_KEYS = {
    "baseline",
    "candidate",
    "overall",
    "by_category",
    "by_setting",
    "agreement",
    "position_bias",
    "raters",
    "systems",
}
BLOCK_KEYS = {
    "n",
    "wins",
    "losses",
    "ties",
    "both_bad",
    "preference_rate",
    "preference_rate_ties_half",
    "ci_low",
    "ci_high",
    "p_value",
}


def test_report_has_every_contract_key_and_block_field_and_serialises_without_nan() -> None:
    report = report_build(records=make_records(per_item=2), rounds=200)
    assert set(report) >= CONTRACT_KEYS
    for block in [report["overall"], *report["by_category"].values(), *report["by_setting"].values()]:
        assert set(block) >= BLOCK_KEYS
    assert {"items", "percent_agreement", "fleiss_kappa", "krippendorff_alpha"} <= set(report["agreement"])
    assert {"left_rate", "p_value"} <= set(report["position_bias"])
    json.dumps(report, allow_nan=False)


def test_baseline_defaults_to_system_a_of_the_first_rating_then_the_campaign_order_then_the_option() -> None:
    records = [record(system_a="x", system_b="y"), record(system_a="y", system_b="x", prompt_id="p2")]
    assert (
        report_build(records=records, rounds=0)["baseline"],
        report_build(records=records, rounds=0)["candidate"],
    ) == ("x", "y")
    assert report_build(records=records, system_order=["y", "x"], rounds=0)["baseline"] == "y"
    assert report_build(records=records, baseline="y", rounds=0)["candidate"] == "x"
    with pytest.raises(ReportInputError, match="unknown baseline"):
        report_build(records=records, baseline="nope")
    with pytest.raises(ReportInputError):
        report_build(records=[])


def test_choice_names_the_system_whatever_side_it_was_shown_on() -> None:
    records = [
        record(system_a="base", system_b="cand", system_on_left="a", choice="b", prompt_id="p1"),
        record(system_a="cand", system_b="base", system_on_left="a", choice="a", prompt_id="p2"),
        record(system_a="base", system_b="cand", system_on_left="b", choice="a", prompt_id="p3"),
    ]
    overall = report_build(records=records, baseline="base", rounds=0)["overall"]
    assert (overall["wins"], overall["losses"]) == (2, 1)


def test_categories_and_settings_partition_the_overall_counts() -> None:
    report = report_build(records=make_records(prompts=60), rounds=0)
    for key in ("by_category", "by_setting"):
        assert sum(block["n"] for block in report[key].values()) == report["overall"]["n"]
        assert sum(block["wins"] for block in report[key].values()) == report["overall"]["wins"]


def test_more_than_two_systems_get_bradley_terry_scores_and_a_block_for_every_pair() -> None:
    report = report_build(records=make_records(systems=("a", "b", "c", "d"), prompts=25), rounds=100)
    assert len(report["by_pair"]) == 6
    assert sorted(row["rank"] for row in report["systems"]) == [1, 2, 3, 4]
    assert all(row["ci_low"] <= row["score"] <= row["ci_high"] for row in report["systems"])
    assert report["bradley_terry"]["ci_method"] == "prompt_bootstrap"
    # The main blocks compare the first two systems only.
    assert report["overall"]["n"] == 25


def _mirrored(value: float | None) -> float | None:
    return None if value is None else 1.0 - value


@st.composite
def rating_sets(draw: st.DrawFn) -> list:
    count = draw(st.integers(min_value=1, max_value=25))
    out = []
    for i in range(count):
        swap = draw(st.booleans())
        out.append(
            record(
                prompt_id=f"p{draw(st.integers(0, 6))}",
                category=draw(st.sampled_from(["x", "y"])),
                setting=draw(st.sampled_from(["zero_shot", "few_shot"])),
                system_a="cand" if swap else "base",
                system_b="base" if swap else "cand",
                system_on_left=draw(st.sampled_from(["a", "b"])),
                choice=draw(st.sampled_from(["a", "b", "tie", "both_bad"])),
                rater=draw(st.sampled_from(["r1", "r2"])),
                seconds=float(i),
            )
        )
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rating_sets())
def test_swapping_baseline_and_candidate_mirrors_every_rate(records: list) -> None:
    one = report_build(records=records, baseline="base", rounds=100)
    two = report_build(records=records, baseline="cand", rounds=100)
    assert (one["baseline"], one["candidate"]) == (two["candidate"], two["baseline"])
    pairs = [(one["overall"], two["overall"])]
    pairs += [
        (one[key][group], two[key][group]) for key in ("by_category", "by_setting") for group in one[key]
    ]
    for a, b in pairs:
        assert (a["wins"], a["losses"], a["ties"], a["both_bad"], a["n"]) == (
            b["losses"],
            b["wins"],
            b["ties"],
            b["both_bad"],
            b["n"],
        )
        assert a["ci_method"] == b["ci_method"]
        for rate in ("preference_rate", "preference_rate_ties_half"):
            assert a[rate] == pytest.approx(_mirrored(b[rate]), abs=1e-9)
        assert a["ci_low"] == pytest.approx(_mirrored(b["ci_high"]), abs=1e-9)
        assert a["ci_high"] == pytest.approx(_mirrored(b["ci_low"]), abs=1e-9)
        assert a["p_value"] == pytest.approx(b["p_value"])
    assert one["position_bias"] == two["position_bias"]
    assert one["agreement"] == two["agreement"]
