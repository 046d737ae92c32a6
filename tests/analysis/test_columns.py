"""The report's arrays (analysis.columns and the coded statistics) give what the list versions give."""

from __future__ import annotations

import json
import random
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from analysis.columns import RatingColumns, systems_in_order
from analysis.records import RatingRecord
from analysis.report import report_build
from analysis.stats.agreement import agreement, position_bias, rater_summaries
from analysis.stats.agreement_codes import agreement_codes, rater_summaries_codes
from analysis.stats.preference import (
    preference_block,
    preference_block_codes,
    preference_by_group,
    preference_by_group_codes,
    unit_order,
)
from analysis.stats.proportion import OUTCOMES
from analysis.style_control import StyleArrays
from tests.factories import record

SYSTEMS = ("base", "cand", "third", "tie")  # a system named like a choice labels like the choice


def _random_records(seed: int, n: int = 400) -> list[RatingRecord]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(SYSTEMS[: rng.choice((2, 4))], 2)
        gold = rng.random() < 0.1
        out.append(
            record(
                campaign=rng.choice(("c1", "c2")),
                prompt_id=rng.choice(("p'1", 'p"2', "p3", "p#turn2", "p10", "p9")),
                category=rng.choice(("coding", "writing", "math")),
                setting=rng.choice(("zero_shot", "few_shot")),
                system_a=a,
                system_b=b,
                system_on_left=rng.choice("ab"),
                choice=rng.choice(("a", "b", "tie", "both_bad")),
                rater=rng.choice(("r1", "r2", "r3", "r4", "r10")),
                seconds=round(rng.uniform(1, 60), 2),
                is_gold=gold,
                gold_choice=rng.choice(("a", "b", "tie", "")) if gold else "",
                turn=rng.choice((1, 1, 2, 10)),
                style_a=tuple(rng.randrange(0, 9) for _ in range(4)),  # type: ignore[arg-type]
                style_b=tuple(rng.randrange(0, 9) for _ in range(4)),  # type: ignore[arg-type]
            )
        )
    return out


def _item(r: RatingRecord) -> tuple[str, str, tuple[str, ...]]:
    prompt = r.prompt_id if r.turn == 1 else f"{r.prompt_id}#turn{r.turn}"
    return (r.campaign, prompt, tuple(sorted((r.system_a, r.system_b))))


@pytest.mark.parametrize("seed", range(6))
def test_coded_preference_blocks_equal_the_list_blocks_on_random_ratings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    outcomes = rng.integers(0, 4, n)
    units = rng.integers(0, 40 if seed % 2 else 400, n)
    groups = rng.integers(0, 3, n)
    names = ["writing", "coding", "math"]
    unit_names = [f"u{u}" for u in range(400)]
    rank = np.empty(400, dtype=np.int64)
    order = unit_order(unit_names)
    rank[[int(str(name)[1:]) for name in order]] = list(order.values())
    words = [OUTCOMES[o] for o in outcomes]
    labels = [unit_names[u] for u in units]
    assert preference_block_codes(outcomes, units, rank=rank, rounds=200, seed=seed) == preference_block(
        words, labels, rounds=200, seed=seed
    )
    assert preference_by_group_codes(outcomes, groups, names, units, rank=rank, rounds=200) == (
        preference_by_group(words, [names[g] for g in groups], labels, rounds=200)
    )
    assert preference_block_codes(outcomes) == preference_block(words)


@pytest.mark.parametrize("seed", range(6))
def test_coded_agreement_and_rater_rows_equal_the_list_versions_on_random_ratings(seed: int) -> None:
    rng = random.Random(seed)
    # Few items and raters: items with three raters or more, and raters rating an item twice.
    rows = [(rng.randrange(12), rng.randrange(6), rng.randrange(4)) for _ in range(150)]
    rater_names = ["r3", "r1", "r10", "r2", "b", "a"]
    label_names = ["base", "cand", "tie", "both_bad"]
    items = np.array([i for i, _, _ in rows])
    raters = np.array([r for _, r, _ in rows])
    labels = np.array([lab for _, _, lab in rows])
    seconds = np.array([rng.uniform(1, 30) for _ in rows])
    gold = np.array([rng.choice((-1, -1, 0, 2)) for _ in rows])
    listed = [(i, rater_names[r], label_names[lab]) for i, r, lab in rows]
    # The coded items are numbered in order of first appearance, as RatingColumns.items numbers them.
    first = {item: k for k, item in enumerate(dict.fromkeys(items.tolist()))}
    coded = np.array([first[i] for i in items.tolist()])
    assert agreement_codes(
        coded, raters, labels, rater_names=rater_names, label_names=label_names, min_shared_items=2
    ) == agreement(listed, min_shared_items=2)
    assert rater_summaries_codes(coded, raters, labels, seconds, gold, rater_names=rater_names) == (
        rater_summaries(
            [
                (i, rater, label, s, label_names[g] if g >= 0 else None)
                for (i, rater, label), s, g in zip(listed, seconds.tolist(), gold.tolist(), strict=True)
            ]
        )
    )


@pytest.mark.parametrize("seed", range(4))
def test_columns_follow_the_record_rules_on_random_ratings(seed: int) -> None:
    records = _random_records(seed)
    columns = RatingColumns.from_records(records)
    assert [columns.label_names[c] for c in columns.labels] == [r.label for r in records]
    gold = [columns.label_names[c] if c >= 0 else None for c in columns.gold_labels]
    assert gold == [r.gold_label for r in records]
    assert columns.left_won[columns.decisive].tolist() == [
        r.left_won for r in records if r.left_won is not None
    ]
    same_item = {(i, j) for i in range(60) for j in range(60) if _item(records[i]) == _item(records[j])}
    assert same_item == {(i, j) for i in range(60) for j in range(60) if columns.items[i] == columns.items[j]}
    order = unit_order([(r.campaign, r.prompt_id) for r in records])
    rank = columns.unit_rank()
    assert [rank[p] for p in columns.prompt] == [order[(r.campaign, r.prompt_id)] for r in records]
    for candidate in SYSTEMS:
        pair = columns.pair_mask("base", candidate)
        assert pair.tolist() == [r.is_pair("base", candidate) for r in records]
        outcomes = [OUTCOMES[o] for o in columns.outcomes_for(candidate)]
        assert outcomes == [r.outcome_for(candidate) for r in records]
    assert position_bias(columns.left_won[columns.decisive].tolist()) == position_bias(
        [r.left_won for r in records if r.left_won is not None]
    )


def test_records_round_trip_through_columns_with_their_contract_fields() -> None:
    records = _random_records(7)
    again = RatingColumns.from_records(records).to_records()
    keep = [
        *("campaign", "prompt_id", "category", "setting", "system_a", "system_b", "system_on_left", "choice"),
        *("rater", "seconds", "is_gold", "gold_choice", "turn"),
    ]
    assert [[getattr(r, k) for k in keep] for r in again] == [[getattr(r, k) for k in keep] for r in records]


def test_a_subset_of_columns_reports_as_the_same_subset_of_records() -> None:
    records = _random_records(3)
    columns = RatingColumns.from_records(records)
    kept = [r for r in records if r.rater != "r2" and not r.is_gold]
    mask = np.array([r.rater != "r2" and not r.is_gold for r in records])
    assert json.dumps(report_build(records=columns.subset(mask), rounds=50)) == json.dumps(
        report_build(records=kept, rounds=50)
    )


def test_columns_hold_a_rating_in_well_under_two_hundred_bytes() -> None:
    records = _random_records(1, n=20_000)
    tracemalloc.start()
    columns = RatingColumns.from_records(records)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(columns) == 20_000
    # Each rating: a dozen 8-byte numbers and eight style counts, names kept once (a record took ~400).
    assert size / len(columns) < 200


def test_a_group_holding_every_rating_reuses_the_global_style_fit_which_is_its_own_fit_to_the_bit() -> None:
    records = [replace(r, setting="zero_shot") for r in _random_records(2)]
    columns = RatingColumns.from_records(records)
    arrays = StyleArrays(columns, systems_in_order(columns))
    group = arrays.fit(50, 0, "setting", "zero_shot")
    assert group is arrays.fit(50, 0)
    own = arrays._fit_some(50, 0, np.ones(len(columns), dtype=bool))
    assert own.systems == group.systems
    assert np.array_equal(own.theta, group.theta) and np.array_equal(own.boot, group.boot)
