"""The stall check on the campaign page at a size past a statement's parameter limit (issue 31)."""

from __future__ import annotations

import pytest

from annotate.feasibility import Stall, campaign_stall
from annotate.models import Comparison, Rating

pytestmark = pytest.mark.django_db

# PostgreSQL takes at most 65,535 parameters in a statement; the check once passed every item's id.
PAST_THE_LIMIT = 66_000


def test_the_stall_check_reads_a_campaign_with_more_items_than_a_statement_takes_parameters(
    campaign_factory, make_rater
):
    raters = [make_rater("stall-one"), make_rater("stall-two")]
    campaign = campaign_factory(name="wide", n_prompts=1, raters=raters)
    first = Comparison.objects.get(campaign=campaign)
    copied = {f.attname: getattr(first, f.attname) for f in Comparison._meta.concrete_fields}
    for name in ("id", "order_key"):
        copied.pop(name)
    Comparison.objects.bulk_create(
        (Comparison(**copied, order_key=n) for n in range(PAST_THE_LIMIT)), batch_size=5000
    )
    Rating.objects.create(
        comparison=first, campaign=campaign, rater=raters[0], choice="a", side="left", seconds=4.0
    )
    # Two raters, one rating each needed: nothing is out of their reach.
    assert campaign_stall(campaign=campaign) == Stall(ratings=0, comparisons=0)


def _stall_item_by_item(campaign) -> Stall:
    """The stall as first written: every regular item on its own (the reference for the grouped count)."""
    from annotate.models import RaterExclusion

    excluded = set(RaterExclusion.objects.filter(campaign=campaign).values_list("rater_id", flat=True))
    active = {pk for pk in campaign.raters.values_list("pk", flat=True) if pk not in excluded}
    ratings = list(Rating.objects.filter(campaign=campaign).values_list("comparison_id", "rater_id"))
    done_by = {r: sum(1 for _, x in ratings if x == r) for r in active}
    able = {r for r in active if campaign.quota_per_rater is None or done_by[r] < campaign.quota_per_rater}
    stall = [0, 0, 0]
    for pk, need in campaign.comparisons.filter(gold_answer__isnull=True).values_list("pk", "needed"):
        missing = need - sum(1 for c, r in ratings if c == pk and r not in excluded)
        reachable = len(able - {r for c, r in ratings if c == pk})
        if missing > reachable:
            never = min(missing - reachable, max(0, need - len(active)))
            stall[2] += never
            if missing - reachable > never:
                stall[0] += missing - reachable - never
                stall[1] += 1
    return Stall(ratings=stall[0], comparisons=stall[1], short=stall[2])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stall_counted_by_needed_for_unrated_items_equals_the_item_by_item_count(
    campaign_factory, make_rater, seed
):
    import random

    from annotate.models import RaterExclusion

    rng = random.Random(seed)
    raters = [make_rater(f"st{seed}-{i}") for i in range(5)]
    campaign = campaign_factory(
        name=f"mixed-{seed}", n_prompts=30, raters=raters, quota_per_rater=[None, 3, 5][seed - 1]
    )
    for comparison in Comparison.objects.filter(campaign=campaign, gold_answer__isnull=True):
        Comparison.objects.filter(pk=comparison.pk).update(needed=rng.choice([1, 2, 3, 4, 6]))
        for rater in rng.sample(raters, rng.choice([0, 0, 0, 1, 2])):
            Rating.objects.create(
                comparison=comparison, campaign=campaign, rater=rater, choice="a", side="left", seconds=4.0
            )
    RaterExclusion.objects.create(campaign=campaign, rater=raters[-1], reason="test")
    assert campaign_stall(campaign=campaign) == _stall_item_by_item(campaign)
