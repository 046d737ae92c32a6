"""The prompt-sampling rule (analysis.prompt_sample): sizes per stratum, variants with their base, seeds."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.prompt_sample import PromptKey, SampleError, allocate, prompt_units, stratified_sample

CATEGORIES = ("writing", "coding", "math", "advice")
SETTINGS = ("zero_shot", "zero_shot_cot", "few_shot")


@st.composite
def pools(draw: st.DrawFn) -> list[PromptKey]:
    strata = draw(
        st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(SETTINGS)), min_size=1, max_size=40)
    )
    prompts = [PromptKey(f"p{i}", c, s) for i, (c, s) in enumerate(strata)]
    # Some prompts get a chain-of-thought variant, as the bundled usability set has.
    for i in draw(st.sets(st.integers(0, len(prompts) - 1), max_size=len(prompts))):
        base = prompts[i]
        prompts.append(PromptKey(f"{base.uid}-cot", base.category, "zero_shot_cot", variant_of=base.uid))
    return prompts


@settings(max_examples=200, deadline=None)
@given(pool=pools(), data=st.data())
def test_each_stratum_gets_its_share_rounded_and_at_least_one_when_the_sample_allows(pool, data):
    units = prompt_units(pool)
    sizes = {s: len(u) for s, u in units.items()}
    total = sum(sizes.values())
    n = data.draw(st.integers(1, total))
    alloc = allocate(sizes, n)
    assert sum(alloc.values()) == n
    assert all(0 <= alloc[s] <= sizes[s] for s in sizes)
    if n >= len(sizes):
        assert all(alloc[s] >= 1 for s in sizes)
    else:
        # Largest remainders alone: every stratum within one unit of its exact share.
        assert all(abs(alloc[s] - n * sizes[s] / total) < 1 for s in sizes)


@settings(max_examples=200, deadline=None)
@given(pool=pools(), data=st.data(), seed=st.integers(0, 2**31))
def test_the_sample_holds_the_allocated_units_with_their_variants_and_a_seed_gives_it_again(pool, data, seed):
    units = prompt_units(pool)
    n = data.draw(st.integers(1, sum(len(u) for u in units.values())))
    chosen = stratified_sample(pool, n=n, seed=seed)
    assert chosen == stratified_sample(pool, n=n, seed=seed)
    picked = set(chosen)
    by_stratum = Counter(s for s, group in units.items() for unit in group if unit[0] in picked)
    assert dict(by_stratum) == {
        s: k for s, k in allocate({s: len(u) for s, u in units.items()}, n).items() if k
    }
    for group in units.values():
        for unit in group:
            assert all(uid in picked for uid in unit) or not any(uid in picked for uid in unit)
    assert chosen == [p.uid for p in pool if p.uid in picked], "in the pool's order"


def test_proportional_allocation_of_a_real_shaped_set_by_largest_remainders():
    # AlpacaEval's five datasets, 805 prompts: a sample of 30.
    sizes = {("helpful_base", "zero_shot"): 129, ("koala", "zero_shot"): 156, ("oasst", "zero_shot"): 188,
             ("selfinstruct", "zero_shot"): 252, ("vicuna", "zero_shot"): 80}  # fmt: skip
    alloc = allocate(sizes, 30)
    assert alloc == {("helpful_base", "zero_shot"): 5, ("koala", "zero_shot"): 6, ("oasst", "zero_shot"): 7,
                     ("selfinstruct", "zero_shot"): 9, ("vicuna", "zero_shot"): 3}  # fmt: skip


def test_a_small_stratum_gets_one_prompt_taken_from_the_most_overserved():
    alloc = allocate({("a", "zero_shot"): 98, ("b", "zero_shot"): 1, ("c", "zero_shot"): 1}, 5)
    assert alloc == {("a", "zero_shot"): 3, ("b", "zero_shot"): 1, ("c", "zero_shot"): 1}


def test_another_seed_draws_other_prompts_and_a_bad_size_is_refused():
    pool = [PromptKey(f"p{i}", "writing", "zero_shot") for i in range(100)]
    assert stratified_sample(pool, n=10, seed=1) != stratified_sample(pool, n=10, seed=2)
    with pytest.raises(SampleError, match="between 1 and 100, not 101"):
        stratified_sample(pool, n=101, seed=1)
    with pytest.raises(SampleError, match="not 0"):
        stratified_sample(pool, n=0, seed=1)
