"""The sequential block's plan, cap and equivalence stop (pure): what the report and the page show."""

from __future__ import annotations

import random

from analysis.report import report_build
from analysis.settling import StopDesign, campaign_rule, sequential_block, stop_reason
from analysis.stats import sequential as seq
from tests.factories import record


def _votes(wins: int, losses: int, *, category: str = "coding") -> list:
    choices = ["b"] * wins + ["a"] * losses
    random.Random(7).shuffle(choices)  # interleaved, as real votes arrive
    return [record(prompt_id=f"{category}{i}", category=category, choice=c) for i, c in enumerate(choices)]


def test_an_interval_inside_the_margin_decides_equivalent_and_says_it_stopped_for_it() -> None:
    records = _votes(1000, 1000)  # 0.5 exactly: after 2,000 votes the interval is about 0.5 +- 0.06
    block = sequential_block(
        records=records, baseline="base", candidate="cand", design=StopDesign(equivalence_margin=0.1)
    )
    assert 0.4 < block["ci_low"] < 0.5 < block["ci_high"] < 0.6
    assert block["decided"] == "equivalent" and block["rule"] == "equivalent"
    assert block["stopped"] == "equivalent" and block["equivalence_margin"] == 0.1
    # Without a margin the same interval settles nothing, and with a narrower one neither.
    assert sequential_block(records=records, baseline="base", candidate="cand")["decided"] is None
    narrow = sequential_block(
        records=records, baseline="base", candidate="cand", design=StopDesign(equivalence_margin=0.03)
    )
    assert narrow["decided"] is None and narrow["stopped"] is None


def test_a_cap_reached_before_settling_stops_as_not_settled_with_the_interval() -> None:
    records = _votes(30, 25)
    block = sequential_block(
        records=records, baseline="base", candidate="cand", design=StopDesign(max_ratings=50)
    )
    assert block["decided"] is None and block["rule"] is None and block["stopped"] == "cap"
    assert block["max_ratings"] == 50 and block["ci_low"] < 0.5 < block["ci_high"]
    under = sequential_block(
        records=records, baseline="base", candidate="cand", design=StopDesign(max_ratings=56)
    )
    assert under["stopped"] is None


def test_the_plan_shows_the_fixed_size_and_what_the_sequence_used_and_expects() -> None:
    records = _votes(35, 15)
    block = sequential_block(
        records=records, baseline="base", candidate="cand", design=StopDesign(min_effect=0.6, power=0.8)
    )
    plan = block["plan"]
    assert plan["fixed_n"] == 199 and plan["used"] == 50 and plan["alpha"] == 0.05
    assert plan["expected_at_min_effect"] == seq.votes_expected(0.6)
    assert plan["expected_at_estimate"] == seq.votes_expected(0.7) and plan["remaining_at_estimate"] == (
        seq.votes_expected(0.7) - 50  # type: ignore[operator]
    )
    # A bolder plan needs a smaller fixed design; the plan's alpha is the interval's level too.
    bold = sequential_block(
        records=records, baseline="base", candidate="cand", design=StopDesign(min_effect=0.7, alpha=0.01)
    )
    assert bold["plan"]["fixed_n"] < 199 and bold["alpha"] == 0.01 and "99 %" in bold["method"]
    assert bold["ci_high"] - bold["ci_low"] > block["ci_high"] - block["ci_low"]


def test_the_campaign_rule_caps_on_all_pairs_ratings_and_settles_equivalent_pairs() -> None:
    open_block = {"rule": None, "ratings": 30}
    assert campaign_rule(blocks=[open_block, open_block], cell_rules=["", ""], max_ratings=60) == "cap"
    assert campaign_rule(blocks=[open_block, open_block], cell_rules=["", ""], max_ratings=61) is None
    equivalent = {"rule": "equivalent", "ratings": 30}
    assert campaign_rule(blocks=[equivalent, equivalent], cell_rules=[""]) == "equivalent"
    mixed = [equivalent, {"rule": "decided_candidate", "ratings": 30}]
    assert campaign_rule(blocks=mixed, cell_rules=[""]) == "settled_all_pairs"
    assert (
        campaign_rule(blocks=[open_block], cell_rules=["equivalent", "equivalent"]) == "all_cells_equivalent"
    )
    assert [stop_reason(r) for r in ("", "cap", "all_cells_equivalent", "decided_all_pairs")] == [
        None,
        "cap",
        "equivalent",
        "settled",
    ]


def test_the_report_passes_the_design_to_its_sequential_block_and_power_table() -> None:
    report = report_build(records=_votes(30, 25), rounds=0, design=StopDesign(max_ratings=40, power=0.9))
    assert report["sequential"]["stopped"] == "cap" and report["sequential"]["plan"]["power"] == 0.9
    assert report["power"]["power"] == 0.9
