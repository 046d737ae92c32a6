"""`by_turn`: the preference blocks of each conversation turn, counted like `by_setting`."""

from __future__ import annotations

from analysis.report import report_build
from reports.presentation import preference_rows
from tests.factories import record


def _fixture():
    # Turn 1: cand wins 2, loses 1, one tie. Turn 2: cand wins 1, loses 2, one both bad.
    plan = {1: ["b", "b", "a", "tie"], 2: ["b", "a", "a", "both_bad"]}
    return [
        record(prompt_id=f"q{i}", turn=turn, choice=choice, rater="r1")
        for turn, choices in plan.items()
        for i, choice in enumerate(choices)
    ]


def test_by_turn_equals_hand_counts():
    report = report_build(records=_fixture(), baseline="base", candidate="cand", rounds=50)
    one, two = report["by_turn"]["1"], report["by_turn"]["2"]
    assert (one["n"], one["wins"], one["losses"], one["ties"], one["both_bad"]) == (4, 2, 1, 1, 0)
    assert (two["n"], two["wins"], two["losses"], two["ties"], two["both_bad"]) == (4, 1, 2, 0, 1)
    assert one["preference_rate"] == 2 / 3 and two["preference_rate"] == 1 / 3
    assert report["overall"]["n"] == 8


def test_the_same_prompt_at_two_turns_is_two_items_for_agreement():
    report = report_build(records=_fixture(), baseline="base", candidate="cand", rounds=50)
    assert report["summary"]["max_ratings_per_item"] == 1


def test_the_page_lists_turns_only_for_conversations():
    report = report_build(records=_fixture(), baseline="base", candidate="cand", rounds=50)
    assert [row["group"] for row in preference_rows(report) if row["kind"] == "turn"] == ["Turn 1", "Turn 2"]
    single = report_build(records=[r for r in _fixture() if r.turn == 1], rounds=50)
    assert not [row for row in preference_rows(single) if row["kind"] == "turn"]


def test_a_judges_verdicts_are_matched_to_ratings_turn_by_turn():
    from analysis.judge import JudgeInput, VerdictRecord

    records = _fixture()
    verdicts = [
        VerdictRecord(
            prompt_id=r.prompt_id,
            category=r.category,
            setting=r.setting,
            system_a=r.system_a,
            system_b=r.system_b,
            p_a=0.2,
            p_tie=0.1,
            p_b=0.7,
            turn=r.turn,
        )
        for r in records
    ]
    report = report_build(
        records=records,
        baseline="base",
        candidate="cand",
        rounds=50,
        judge=JudgeInput(name="j", verdicts=verdicts),
    )
    assert report["judge"]["items"] == 8
