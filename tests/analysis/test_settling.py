"""The report's top-level ``sequential`` block (contract keys), weighted by cell share, on real ratings."""

from __future__ import annotations

import pytest

from analysis.report import report_build
from analysis.settling import sequential_block, shares_from_records
from analysis.stats import sequential as seq
from tests.factories import make_records, real_records, record

CONTRACT = {"method", "ci_low", "ci_high", "decided", "ratings", "by_cell"}


def test_contract_keys_overall_and_per_cell() -> None:
    report = report_build(records=make_records(prompts=60), rounds=0)
    block = report["sequential"]
    assert set(block) >= CONTRACT
    assert block["by_cell"] and all(CONTRACT - {"by_cell", "method"} <= set(c) for c in block["by_cell"])
    assert block["method"] == seq.METHOD and "share" in block["weighting"]
    assert block["decided"] in ("candidate", "baseline", None)
    assert 0.0 <= block["ci_low"] <= block["ci_high"] <= 1.0
    assert block["ratings"] == sum(c["ratings"] for c in block["by_cell"])
    assert "sequential" in report["methods"]


def test_real_ratings_decide_for_davinci_and_agree_with_the_stats_module() -> None:
    records = real_records()
    if records is None:
        pytest.skip("../shared/peer-ratings is absent")
    block = report_build(records=records, rounds=0)["sequential"]
    # AlpacaEval 1: text_davinci_003 beats alpaca-7b clearly on 805 prompts.
    assert block["candidate"] == "text_davinci_003" and block["decided"] == "candidate"
    for cell in block["by_cell"]:
        votes = [
            # Written out here, not read through the record's own rule: that rule is under test.
            1.0 if {"a": r.system_a, "b": r.system_b}[r.choice] == "text_davinci_003" else 0.0
            for r in records
            if (r.category, r.setting) == (cell["category"], cell["setting"]) and r.choice in ("a", "b")
        ]
        if votes:
            low, high = seq.running_interval(votes)
            assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((low[-1], high[-1]), abs=1e-12)
    shares = [c["share"] for c in block["by_cell"]]
    assert sum(shares) == pytest.approx(1.0)


def test_overall_is_weighted_by_share_not_by_ratings() -> None:
    # Cell "a" (10 % of prompts) got 200 ratings all won by the candidate; cell "b" (90 %) 60, all lost.
    records = [record(prompt_id=f"a{i % 5}", category="a", choice="b") for i in range(200)]
    records += [record(prompt_id=f"b{i % 45}", category="b", choice="a", rater=f"r{i}") for i in range(60)]
    block = sequential_block(records=records, baseline="base", candidate="cand")
    assert shares_from_records(records) == {("a", "zero_shot"): 0.1, ("b", "zero_shot"): 0.9}
    assert block["preference_rate_weighted"] == pytest.approx(0.1)
    assert block["decided"] == "baseline"  # a vote-weighted rate would be 200/260 for the candidate
    with_eval_shares = sequential_block(
        records=records,
        baseline="base",
        candidate="cand",
        cell_shares={("a", "zero_shot"): 0.9, ("b", "zero_shot"): 0.1},
    )
    assert with_eval_shares["preference_rate_weighted"] == pytest.approx(0.9)


def test_gold_and_other_pairs_are_left_out_and_precision_rule_fires() -> None:
    records = [record(prompt_id=f"p{i}", choice="b" if i % 2 else "a") for i in range(2000)]
    records.append(record(prompt_id="gold", choice="b", is_gold=True))
    records.append(record(prompt_id="x", system_a="other", choice="b"))
    block = sequential_block(records=records, baseline="base", candidate="cand", precision=0.2)
    assert block["ratings"] == 2000 and block["decided"] is None
    assert block["rule"] == "precise" and block["ci_high"] - block["ci_low"] < 0.2
    assert sequential_block(records=records, baseline="base", candidate="cand")["rule"] is None
