"""The paper's selection rule, exactly as the contract states it."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generation.selection import Selection, select_response


def test_an_empty_list_selects_nothing():
    assert select_response([]) == Selection(index=None, kept=(), threshold=None)


def test_scores_better_than_half_the_median_are_dropped_and_the_best_remaining_is_chosen():
    # median -7, threshold -3.5: -1 and -3 are suspiciously likely and go.
    result = select_response([-1.0, -10.0, -3.0, -12.0, -7.0])
    assert result.threshold == -3.5
    assert result.kept == (1, 3, 4)
    assert result.index == 4


def test_a_score_equal_to_the_threshold_is_kept():
    result = select_response([-5.0, -10.0, -20.0])
    assert result.threshold == -5.0
    assert result.kept == (0, 1, 2)
    assert result.index == 0


def test_an_even_count_uses_the_mean_of_the_two_middle_scores_as_median():
    result = select_response([-2.0, -6.0, -10.0, -30.0])
    assert result.threshold == -4.0
    assert result.kept == (1, 2, 3)
    assert result.index == 1


def test_a_single_sample_is_kept_and_chosen():
    assert select_response([-3.5]) == Selection(index=0, kept=(0,), threshold=-1.75)


def test_equal_scores_are_all_kept_and_the_tie_goes_to_the_lower_index():
    assert select_response([-4.0, -4.0, -4.0]) == Selection(index=0, kept=(0, 1, 2), threshold=-2.0)


def test_ties_among_the_best_kept_scores_go_to_the_lower_index():
    result = select_response([-1.0, -8.0, -6.0, -6.0, -9.0])
    assert result.kept == (1, 2, 3, 4)
    assert result.index == 2


def test_scores_of_zero_are_kept_because_nothing_is_greater_than_a_zero_threshold():
    assert select_response([0.0, 0.0, -1.0]) == Selection(index=0, kept=(0, 1, 2), threshold=0.0)


def test_positive_scores_can_all_be_filtered_and_then_the_best_overall_is_still_chosen():
    result = select_response([3.0, 3.0])
    assert result.kept == ()
    assert result.index == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinite_scores_are_rejected_with_a_clear_error(bad):
    with pytest.raises(ValueError, match="finite"):
        select_response([-1.0, bad, -3.0])


def test_the_none_policy_keeps_everything_and_chooses_the_plain_best():
    result = select_response([-1.0, -10.0, -4.0], policy="none")
    assert result == Selection(index=0, kept=(0, 1, 2), threshold=None)


def test_an_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="unknown selection policy"):
        select_response([-1.0], policy="greedy")


def test_the_module_imports_neither_django_nor_torch():
    import subprocess
    import sys

    code = (
        "import sys, generation.selection; print(sorted(m for m in ('django','torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


log_probs = st.lists(st.floats(min_value=-1e4, max_value=0.0, allow_nan=False), min_size=1, max_size=12)


@given(log_probs)
def test_with_log_probabilities_the_choice_is_the_best_kept_score_and_never_above_the_threshold(scores):
    result = select_response(scores)
    assert result.threshold == statistics.median(scores) / 2
    assert result.kept == tuple(i for i, s in enumerate(scores) if s <= result.threshold)
    assert result.index in result.kept
    best = max(scores[i] for i in result.kept)
    assert scores[result.index] == best
    assert all(scores[i] < best for i in result.kept if i < result.index)


@given(log_probs)
def test_with_log_probabilities_at_least_half_of_the_samples_survive(scores):
    result = select_response(scores)
    assert len(result.kept) * 2 >= len(scores)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=12))
def test_any_finite_scores_give_an_index_within_range(scores):
    result = select_response(scores)
    if scores:
        assert result.index is not None and 0 <= result.index < len(scores)
        assert set(result.kept) <= set(range(len(scores)))
    else:
        assert result.index is None
