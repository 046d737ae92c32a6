"""The pure draw rules of adaptive serving: floors, the least certain pair first, and degenerate inputs."""

from __future__ import annotations

import math
import subprocess
import sys
from itertools import product

import pytest

from analysis.pair_weights import FLOOR_SHARE, cell_weights, floored, pair_weights, se_gain


@pytest.mark.parametrize(
    ("ses", "counts"),
    [
        ([0.5, 0.5, 0.5], [0, 0, 0]),  # no ratings at all
        ([0.05, 0.2, 0.5], [100, 10, 0]),  # a pair never compared
        ([1e-9, 0.1, 0.1], [40, 20, 20]),  # a perfectly separated pair
        ([0.0, 0.0], [3, 7]),  # nothing left to learn anywhere
        ([0.3], [5]),  # a single open pair
        ([0.1, 0.1, 0.1, 0.1], [1, 2, 4, 8]),
    ],
)
def test_weights_sum_to_one_and_keep_the_floor(ses: list[float], counts: list[int]) -> None:
    for floor in (0.0, FLOOR_SHARE, 0.5, 1.0):
        w = pair_weights(ses, counts, floor_share=floor)
        assert len(w) == len(ses) and math.isclose(sum(w), 1.0)
        assert min(w) >= floor / len(ses) - 1e-12  # every open pair keeps being sampled


def test_the_least_certain_pair_is_the_most_likely() -> None:
    # Equal counts: the larger standard error wins; equal standard errors: the fewer ratings win.
    w = pair_weights([0.05, 0.10, 0.20], [30, 30, 30])
    assert w[2] > w[1] > w[0]
    w = pair_weights([0.1, 0.1, 0.1], [50, 10, 2])
    assert w[2] > w[1] > w[0]
    # A pair never rated gains its whole standard error from the first rating.
    assert se_gain(0.3, 0) == 0.3
    assert se_gain(0.3, 3) == pytest.approx(0.3 * (1 - math.sqrt(3 / 4)))


def test_exhaustive_monotone_in_se_and_in_count() -> None:
    grid_se = [0.0, 0.01, 0.1, 0.5]
    grid_n = [0, 1, 5, 50]
    for se1, se2, n1, n2 in product(grid_se, grid_se, grid_n, grid_n):
        w = pair_weights([se1, se2, 0.2], [n1, n2, 10])
        assert math.isclose(sum(w), 1.0) and min(w) >= FLOOR_SHARE / 3 - 1e-12
        g1, g2 = se_gain(se1, n1), se_gain(se2, n2)
        assert (w[0] > w[1]) == (g1 > g2) or math.isclose(w[0], w[1])
        if se1 <= se2 and n1 >= n2:  # no more uncertain and no fewer ratings: never more likely
            assert w[0] <= w[1] + 1e-12


def test_perfectly_separated_and_uncertain_pairs() -> None:
    # Figures as analysis.stats.pair_uncertainty gives them: a 40-0 pair next to two 10-10 pairs.
    w = pair_weights([0.004, 0.11, 0.11], [40, 20, 20])
    assert w[0] < 0.1 and w[0] == pytest.approx(FLOOR_SHARE / 3, abs=0.01)
    assert w[1] == pytest.approx(w[2])


def test_degenerate_and_bad_input() -> None:
    assert pair_weights([], []) == [] and cell_weights([]) == []
    assert pair_weights([0.0, 0.0, 0.0], [0, 0, 0]) == [1 / 3] * 3
    assert floored([0.0, 2.0], floor_share=0.2) == pytest.approx([0.1, 0.9])
    for bad in ([-0.1, 0.2], [math.nan, 0.2], [math.inf, 0.2]):
        with pytest.raises(ValueError):
            pair_weights(bad, [1, 1])
    with pytest.raises(ValueError):
        pair_weights([0.1], [1, 2])
    with pytest.raises(ValueError):
        pair_weights([0.1], [-1])
    with pytest.raises(ValueError):
        cell_weights([0.5], floor_share=1.5)


def test_the_weights_module_imports_no_django() -> None:
    code = "import sys, analysis.pair_weights; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
