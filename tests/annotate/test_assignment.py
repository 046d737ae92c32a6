# mypy: disable-error-code="union-attr"
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.assignment import (
    UNDO_SECONDS,
    RatingError,
    item_next,
    item_skip,
    rater_progress,
    rating_submit,
    rating_undo,
)
from annotate.models import Lease, Rating
from annotate.services import campaign_rater_exclude, comparison_gold_mark

pytestmark = pytest.mark.django_db


class AlwaysGold(random.Random):
    def random(self) -> float:
        return 0.0


def rate_all(campaign, rater, side="left", limit=1000, rng=None):
    tokens = []
    for _ in range(limit):
        item = item_next(campaign=campaign, rater=rater, rng=rng)
        if item is None:
            break
        rating_submit(campaign=campaign, rater=rater, token=item.token, side=side)
        tokens.append(item.token)
    return tokens


def test_a_rater_gets_every_item_once_then_nothing(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=8, raters=[rater])
    tokens = rate_all(campaign, rater)
    assert sorted(tokens) == sorted(c.token for c in campaign.comparisons.all())
    assert item_next(campaign=campaign, rater=rater) is None
    assert rater_progress(campaign=campaign, rater=rater).percent == 100.0


def test_an_item_needing_one_rating_is_not_served_to_a_second_rater_while_leased(
    campaign_factory, make_rater
):
    r1, r2 = make_rater("r1"), make_rater("r2")
    campaign = campaign_factory(n_prompts=1, raters=[r1, r2])
    assert item_next(campaign=campaign, rater=r1) is not None
    assert item_next(campaign=campaign, rater=r2) is None


def test_reloading_returns_the_item_already_held(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=5, raters=[rater])
    first = item_next(campaign=campaign, rater=rater)
    assert item_next(campaign=campaign, rater=rater).pk == first.pk
    assert Lease.objects.filter(rater=rater).count() == 1


def test_an_expired_lease_returns_the_item_to_the_pool(campaign_factory, make_rater):
    r1, r2 = make_rater("r1"), make_rater("r2")
    campaign = campaign_factory(n_prompts=1, raters=[r1, r2])
    item = item_next(campaign=campaign, rater=r1)
    later = timezone.now() + timedelta(seconds=campaign.lease_seconds + 1)
    taken = item_next(campaign=campaign, rater=r2, now=later)
    assert taken is not None and taken.pk == item.pk
    # r1 comes back late: the item went to r2, so r1's rating is refused rather than over-rating it.
    with pytest.raises(RatingError, match="went to someone else"):
        rating_submit(campaign=campaign, rater=r1, token=item.token, side="left", now=later)
    rating_submit(campaign=campaign, rater=r2, token=item.token, side="right", now=later)
    assert Rating.objects.filter(comparison=item).count() == 1


def test_a_late_rating_is_kept_when_nobody_else_took_the_item(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=1, raters=[rater])
    item = item_next(campaign=campaign, rater=rater)
    later = timezone.now() + timedelta(seconds=campaign.lease_seconds * 3)
    rating, created = rating_submit(
        campaign=campaign, rater=rater, token=item.token, side="tie", seconds=5000, now=later
    )
    assert created
    assert rating.seconds == campaign.lease_seconds  # the client's claim is bounded by the lease


def test_double_submission_is_stored_once_and_returns_the_stored_rating(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=2, raters=[rater])
    item = item_next(campaign=campaign, rater=rater)
    first, created1 = rating_submit(
        campaign=campaign, rater=rater, token=item.token, side="left", comment="one"
    )
    second, created2 = rating_submit(
        campaign=campaign, rater=rater, token=item.token, side="right", comment="two"
    )
    assert created1 and not created2
    assert second.pk == first.pk and second.side == "left" and second.comment == "one"
    assert Rating.objects.count() == 1


def test_choice_names_the_system_not_the_side(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=10, raters=[rater])
    for _ in range(10):
        item = item_next(campaign=campaign, rater=rater)
        rating, _ = rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
        assert rating.choice == item.system_on_left and rating.side == "left"
    item_side = {"a": "b", "b": "a"}
    campaign2 = campaign_factory(name="c2", n_prompts=4, raters=[rater])
    item = item_next(campaign=campaign2, rater=rater)
    rating, _ = rating_submit(campaign=campaign2, rater=rater, token=item.token, side="right")
    assert rating.choice == item_side[item.system_on_left]
    item = item_next(campaign=campaign2, rater=rater)
    rating, _ = rating_submit(campaign=campaign2, rater=rater, token=item.token, side="both_bad")
    assert rating.choice == "both_bad"


def test_a_rating_for_an_item_never_served_is_refused(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=2, raters=[rater])
    token = campaign.comparisons.first().token
    with pytest.raises(RatingError, match="not served"):
        rating_submit(campaign=campaign, rater=rater, token=token, side="left")
    with pytest.raises(RatingError, match="unknown item"):
        rating_submit(campaign=campaign, rater=rater, token="nope", side="left")
    with pytest.raises(RatingError, match="unknown choice"):
        rating_submit(campaign=campaign, rater=rater, token=token, side="a")


def test_undo_within_the_window_returns_the_item_and_later_it_is_refused(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=3, raters=[rater])
    item = item_next(campaign=campaign, rater=rater)
    rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    assert rater_progress(campaign=campaign, rater=rater).done == 1
    back = rating_undo(campaign=campaign, rater=rater)
    assert back.pk == item.pk and not Rating.objects.exists()
    assert item_next(campaign=campaign, rater=rater).pk == item.pk  # shown again to re-rate
    rating, _ = rating_submit(campaign=campaign, rater=rater, token=item.token, side="right")
    late = rating.created + timedelta(seconds=UNDO_SECONDS + 1)
    with pytest.raises(RatingError, match="no recent rating"):
        rating_undo(campaign=campaign, rater=rater, now=late)
    assert Rating.objects.count() == 1


def test_skipped_items_come_back_only_when_nothing_else_is_left(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=3, raters=[rater])
    skipped = item_next(campaign=campaign, rater=rater)
    item_skip(campaign=campaign, rater=rater, token=skipped.token)
    seen = []
    for _ in range(2):
        item = item_next(campaign=campaign, rater=rater)
        assert item.pk != skipped.pk
        seen.append(item.pk)
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="tie")
    assert item_next(campaign=campaign, rater=rater).pk == skipped.pk


def test_a_skipped_item_goes_to_another_rater(campaign_factory, make_rater):
    r1, r2 = make_rater("r1"), make_rater("r2")
    campaign = campaign_factory(n_prompts=1, raters=[r1, r2])
    item = item_next(campaign=campaign, rater=r1)
    item_skip(campaign=campaign, rater=r1, token=item.token)
    assert item_next(campaign=campaign, rater=r2).pk == item.pk


def test_each_rater_sees_their_own_order(campaign_factory, make_rater):
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=30, ratings_per_comparison=3, raters=raters)
    orders = [rate_all(campaign, r) for r in raters]
    assert all(sorted(o) == sorted(orders[0]) for o in orders)
    assert len({tuple(o) for o in orders}) == 3
    position_order = [c.token for c in campaign.comparisons.order_by("prompt__position")]
    assert position_order not in orders


def test_capacity_is_respected_with_several_raters(campaign_factory, make_rater):
    raters = [make_rater(f"r{i}") for i in range(5)]
    campaign = campaign_factory(n_prompts=6, ratings_per_comparison=2, overlap=0.5, raters=raters)
    for rater in raters:
        rate_all(campaign, rater)
    for comparison in campaign.comparisons.all():
        assert comparison.ratings.count() == comparison.needed


def test_excluded_raters_get_nothing_and_their_ratings_stop_counting(campaign_factory, make_rater):
    r1, r2 = make_rater("r1"), make_rater("r2")
    campaign = campaign_factory(n_prompts=2, raters=[r1, r2])
    rate_all(campaign, r1)
    assert item_next(campaign=campaign, rater=r2) is None
    campaign_rater_exclude(campaign=campaign, user=r1)
    assert len(rate_all(campaign, r2)) == 2


def test_gold_items_are_mixed_in_at_the_campaigns_rate(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=200, gold_fraction=0.2, raters=[rater])
    gold = list(campaign.comparisons.order_by("?")[:40])
    for comparison in gold:
        comparison_gold_mark(comparison=comparison, answer="a")
    rng = random.Random(7)
    served_gold = 0
    for _ in range(100):
        item = item_next(campaign=campaign, rater=rater, rng=rng)
        served_gold += item.gold_answer is not None
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    assert 10 <= served_gold <= 32  # 20 % of 100, loosely


def test_gold_items_are_rated_by_every_rater(campaign_factory, make_rater):
    r1, r2 = make_rater("r1"), make_rater("r2")
    campaign = campaign_factory(n_prompts=4, gold_fraction=0.5, ratings_per_comparison=2, raters=[r1, r2])
    gold = campaign.comparisons.first()
    comparison_gold_mark(comparison=gold, answer="tie")
    assert item_next(campaign=campaign, rater=r1, rng=AlwaysGold()).pk == gold.pk
    rate_all(campaign, r1)
    assert item_next(campaign=campaign, rater=r2, rng=AlwaysGold()).pk == gold.pk
    rate_all(campaign, r2)
    assert gold.ratings.count() == 2
