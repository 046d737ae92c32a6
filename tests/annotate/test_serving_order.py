"""The item served is the first with room in the rater's order, whichever search found it.

Serving looks first among the items a rater never saw (annotate.progress.fresh_to, without the
joins to the rater's rows), then through every item with skipped ones last: the item it leases
must be the one the full ordering (annotate.picking.item_candidates over `with_mine`) puts first.
"""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from annotate.assignment import item_next, item_skip, rating_submit
from annotate.models import Comparison, Rating
from annotate.picking import item_candidates
from annotate.progress import held_now, room, with_mine
from annotate.rater_access import rater_order


def _first_in_order(campaign, rater, now):
    rows = with_mine(Comparison.objects.filter(campaign=campaign), rater=rater)
    # The rater's order at their step: drawn afresh at each rating they give.
    step = Rating.objects.filter(campaign=campaign, rater=rater).count()
    candidates = item_candidates(
        rows.filter(room(now)).exclude(held_now(now)),
        campaign=campaign,
        rater=rater,
        order=rater_order(campaign=campaign, rater=rater, step=step),
    )
    first = candidates.first()
    return None if first is None else first.pk


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_each_served_item_is_the_first_with_room_in_the_raters_order(campaign_factory, make_rater, seed):
    rng = random.Random(seed)
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=8, ratings_per_comparison=2, overlap=0.25, raters=raters)
    served = 0
    for _ in range(30):
        rater = rng.choice(raters)
        now = timezone.now()
        expected = _first_in_order(campaign, rater, now)
        item = item_next(campaign=campaign, rater=rater, now=now)
        if item is None:
            assert expected is None
            continue
        served += 1
        assert item.pk == expected
        if rng.random() < 0.6:
            rating_submit(campaign=campaign, rater=rater, token=item.token, side="right", now=now)
        else:
            item_skip(campaign=campaign, rater=rater, token=item.token, now=now)
    assert served >= 10
