"""The rater's progress from serving's counters (issue 31), against a recount over the whole campaign."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate import progress
from annotate.assignment import item_next, item_skip, rating_submit
from annotate.models import Comparison


@pytest.mark.parametrize("seed", [4, 5])
def test_the_rater_progress_from_the_counters_equals_a_recount_over_the_campaign_as_raters_rate_and_skip(
    campaign_factory, make_rater, seed
):
    rng = random.Random(seed)
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=6, ratings_per_comparison=2, overlap=0.5, raters=raters)
    Comparison.objects.filter(pk=campaign.comparisons.order_by("pk")[0].pk).update(gold_answer="a")
    for _ in range(14):
        rater = rng.choice(raters)
        item = item_next(campaign=campaign, rater=rater)
        if item is not None and rng.random() < 0.7:
            rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
        elif item is not None:
            item_skip(campaign=campaign, rater=rater, token=item.token)
        for other in raters:
            for now in (timezone.now(), timezone.now() + timedelta(minutes=20)):
                since = progress.undo_since(now)
                rows = progress.with_mine(Comparison.objects.filter(campaign=campaign), rater=other)
                expected = rows.aggregate(**progress._counts(now=now, since=since, own=True))
                got = progress.counted_figures(campaign=campaign, rater=other, now=now, since=since)
                assert got == expected
