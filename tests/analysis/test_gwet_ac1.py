"""Gwet's AC1 beside Cohen's kappa: equal to the irrCAC package, and the prevalence note."""

from __future__ import annotations

import random

import pytest

from analysis.stats import cohen_kappa, gwet_ac1, prevalence_note


@pytest.mark.parametrize("seed", range(6))
def test_gwet_ac1_equals_irrcac_for_two_raters(seed: int) -> None:
    pd = pytest.importorskip("pandas")
    raw = pytest.importorskip("irrCAC.raw")
    rng = random.Random(seed)
    labels = ["a", "b", "tie"][: 2 + seed % 2]
    first = [rng.choice(labels) for _ in range(40)]
    # the second rater copies the first most of the time, with a skew towards "a"
    second = [x if rng.random() < 0.7 else rng.choice(labels + ["a"] * seed) for x in first]
    ours = gwet_ac1(first, second)
    reference = raw.CAC(pd.DataFrame({"judge": first, "human": second})).gwet()["est"]["coefficient_value"]
    assert ours == pytest.approx(float(reference), abs=1e-5)  # irrCAC rounds to 5 decimals


def test_kappa_near_zero_at_high_agreement_gets_a_prevalence_note_and_a_high_ac1() -> None:
    judge = ["b"] * 12
    human = ["b"] * 11 + ["a"]  # 91.7 % agreement; the judge never says anything else
    assert cohen_kappa(judge, human) == pytest.approx(0.0)
    ac1 = gwet_ac1(judge, human)
    assert ac1 is not None and ac1 > 0.9
    note = prevalence_note(judge, human)
    assert note is not None and "one label dominates" in note and "91.7% agree" in note


def test_no_prevalence_note_where_kappa_is_low_because_agreement_is_poor() -> None:
    judge = ["a", "b"] * 10
    human = ["b", "a"] * 10
    assert prevalence_note(judge, human) is None
    assert gwet_ac1(["a"], ["a"]) is None  # one label seen: chance agreement is undefined
