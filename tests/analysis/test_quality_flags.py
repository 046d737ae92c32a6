# mypy: disable-error-code="arg-type"
"""Rater quality flags: the pure rule (analysis.quality_flags), exhaustively."""

from __future__ import annotations

import itertools

import pytest
from scipy.stats import binomtest

from analysis.quality_flags import (
    GOLD,
    ONE_SIDED,
    ONE_SIDED_ALPHA,
    ONE_SIDED_MIN_DECISIVE,
    REASON_MAX_CHARS,
    TOO_FAST,
    Flag,
    FlagThresholds,
    RaterNumbers,
    exclusion_reason,
    left_share_p_value,
    rater_flags,
)

T = FlagThresholds(min_seconds=2.0, gold_accuracy_min=0.6)


def numbers(**kw: object) -> RaterNumbers:
    base = dict(
        ratings=30, median_seconds=5.0, too_fast=0, decisive=30, left_votes=15, gold_total=0, gold_correct=0
    )
    base.update(kw)
    return RaterNumbers(**base)  # type: ignore[arg-type]


def codes(flags: list[Flag]) -> list[str]:
    return [flag.code for flag in flags]


# --- the pure rule ---------------------------------------------------------------------------------


def test_a_balanced_careful_rater_has_no_flag():
    assert rater_flags(numbers(), T) == []


@pytest.mark.parametrize(
    ("median", "min_seconds", "flagged"),
    [
        (1.0, 2.0, True),
        (1.99, 2.0, True),
        (2.0, 2.0, False),
        (8.0, 2.0, False),
        (0.5, 0.0, False),
        (None, 2.0, False),
    ],
)
def test_too_fast_is_a_median_strictly_below_the_minimum_and_off_at_zero(median, min_seconds, flagged):
    flags = rater_flags(numbers(median_seconds=median, too_fast=7), FlagThresholds(min_seconds, 0.6))
    assert (TOO_FAST in codes(flags)) is flagged
    if flagged:
        assert flags[0].value == f"median {median:.1f} s per rating, 7 of 30 ratings under {min_seconds:g} s"
        assert f"{min_seconds:g} s minimum" in flags[0].rule


def test_one_sided_agrees_with_scipys_exact_test_for_every_count_from_1_to_40():
    for decisive in range(1, 41):
        for left in range(decisive + 1):
            flags = rater_flags(numbers(decisive=decisive, left_votes=left, ratings=decisive), T)
            p = binomtest(left, decisive, 0.5).pvalue
            expected = decisive >= ONE_SIDED_MIN_DECISIVE and bool(p < ONE_SIDED_ALPHA)
            assert (ONE_SIDED in codes(flags)) is expected, (left, decisive)


def test_always_left_is_flagged_from_20_decisive_votes_not_at_19():
    assert ONE_SIDED_MIN_DECISIVE == 20
    assert codes(rater_flags(numbers(decisive=19, left_votes=19), T)) == []
    flags = rater_flags(numbers(decisive=20, left_votes=20), T)
    assert codes(flags) == [ONE_SIDED]
    assert flags[0].value == "left in 20 of 20 decisive votes (100 %), p = 1.9e-06"
    assert "p < 0.01" in flags[0].rule and "from 20 decisive votes" in flags[0].rule
    # Always right is as one-sided as always left.
    assert codes(rater_flags(numbers(decisive=25, left_votes=0), T)) == [ONE_SIDED]


def test_the_stated_level_is_the_one_applied():
    # 16 of 20: p = 0.0118, above 0.01 but below 0.05.
    assert 0.01 < left_share_p_value(left=16, decisive=20) < 0.05
    assert codes(rater_flags(numbers(decisive=20, left_votes=16), T)) == []
    loose = FlagThresholds(min_seconds=2.0, gold_accuracy_min=0.6, alpha=0.05)
    assert codes(rater_flags(numbers(decisive=20, left_votes=16), loose)) == [ONE_SIDED]


@pytest.mark.parametrize(
    ("correct", "total", "flagged"), [(0, 4, True), (2, 4, True), (3, 5, False), (5, 5, False), (0, 0, False)]
)
def test_gold_below_the_threshold_is_flagged_with_its_counts(correct, total, flagged):
    flags = rater_flags(numbers(gold_total=total, gold_correct=correct), T)
    assert (GOLD in codes(flags)) is flagged
    if flagged:
        assert flags[0].value == f"{correct} of {total} gold checks right ({100 * correct / total:.0f} %)"
        assert "60 % threshold" in flags[0].rule


def test_every_combination_of_the_three_flags_comes_in_a_fixed_order():
    for fast, sided, gold in itertools.product((False, True), repeat=3):
        flags = rater_flags(
            numbers(
                median_seconds=1.0 if fast else 5.0,
                left_votes=30 if sided else 15,
                gold_total=5,
                gold_correct=1 if gold else 5,
            ),
            T,
        )
        expected = [c for c, on in ((TOO_FAST, fast), (ONE_SIDED, sided), (GOLD, gold)) if on]
        assert codes(flags) == expected


def test_the_reason_joins_the_flags_and_fits_the_field():
    flags = rater_flags(numbers(median_seconds=1.0, left_votes=30, gold_total=5, gold_correct=0), T)
    reason = exclusion_reason(flags)
    assert reason.count("; ") == 2 and reason.startswith("Too fast: median 1.0 s")
    long = [Flag(code="x", label="L", value="v" * 400, rule="r")] * 3
    assert len(exclusion_reason(long)) == REASON_MAX_CHARS
    assert exclusion_reason([]) == ""


@pytest.mark.parametrize(
    "bad",
    [
        dict(left_votes=31),
        dict(gold_correct=3, gold_total=2),
        dict(too_fast=-1),
        dict(decisive=-1, left_votes=-1),
    ],
)
def test_impossible_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        rater_flags(numbers(**bad), T)


@pytest.mark.parametrize(
    "thresholds",
    [
        FlagThresholds(-1, 0.6),
        FlagThresholds(2, 1.5),
        FlagThresholds(2, 0.6, alpha=0),
        FlagThresholds(2, 0.6, min_decisive=0),
    ],
)
def test_thresholds_out_of_range_are_refused(thresholds):
    with pytest.raises(ValueError):
        rater_flags(numbers(), thresholds)


# --- crafted ratings through the selector ----------------------------------------------------------
