"""`Comparison.taken`, the counter serving decides room by, against the rows it stands for.

Serving trusts the counter instead of counting per item, so it must never be lower than the
ratings and running leases it counts (that would over-serve an item), and it must be exact except
while a counted lease may have run out (`lease_check_at` in the past), when serving counts again.
A random walk of raters serving, rating, skipping, undoing, being excluded and let back in, with a
clock that lets leases run out, checks both after every step, then that every item can still be
finished.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from annotate import progress
from annotate.assignment import RatingError, item_next, item_skip, rating_submit, rating_undo
from annotate.leases import taken_exact
from annotate.models import Comparison, Rating
from annotate.selectors import excluded_rater_ids
from annotate.services import campaign_rater_exclude, campaign_rater_include
from annotate.serving_check import serving_drift
from tests.factories import login, served_item

count_taken = __import__(
    "annotate.migrations.0004_comparison_taken_counter", fromlist=["count_taken"]
).count_taken


class _AppsAsIn0004:
    """Today's models under the names migration 0004 knew them by (Assignment became Lease in 0006)."""

    def get_model(self, app_label: str, name: str):  # type: ignore[no-untyped-def]
        return apps.get_model(app_label, "Lease" if name == "Assignment" else name)


def _served(campaign, rater, now=None) -> Comparison:
    item = item_next(campaign=campaign, rater=rater, now=now)
    assert item is not None
    return item


def _check(campaign, now) -> None:
    # Serving's other counters (issue 31): the tallies equal a recount, and so does every rater's
    # progress read from them.
    assert serving_drift(campaigns=[campaign], now=now) == []
    since = progress.undo_since(now)
    for rater in campaign.raters.all():
        recount = progress.with_mine(Comparison.objects.filter(campaign=campaign), rater=rater).aggregate(
            **progress._counts(now=now, since=since, own=True)
        )
        assert progress.counted_figures(campaign=campaign, rater=rater, now=now, since=since) == recount
    excluded = excluded_rater_ids(campaign=campaign)
    for comparison in Comparison.objects.filter(campaign=campaign):
        exact = taken_exact(comparison_id=comparison.pk, excluded=excluded, now=now)
        assert comparison.taken >= exact, "the counter fell below what it counts"
        if comparison.lease_check_at is None or comparison.lease_check_at > now:
            assert comparison.taken == exact, "the counter is off while no counted lease has run out"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counters_stay_at_or_above_the_rows_the_tallies_and_progress_equal_a_recount_and_every_item_can_be_finished(
    campaign_factory, make_rater, monkeypatch, seed
):
    rng = random.Random(seed)
    raters = [make_rater(f"r{i}") for i in range(4)]
    campaign = campaign_factory(n_prompts=6, ratings_per_comparison=2, overlap=0.5, raters=raters)
    campaign.lease_seconds = 30
    campaign.save()
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    held: dict[int, str] = {}
    excluded: set[int] = set()
    for _ in range(160):
        rater = rng.choice(raters)
        roll = rng.random()
        if rater.pk in excluded and roll < 0.85:
            continue  # the pages serve an excluded rater nothing and take nothing from them
        try:
            if roll < 0.35:
                item = item_next(campaign=campaign, rater=rater, now=clock[0])
                if item is not None:
                    held[rater.pk] = item.token
            elif roll < 0.7 and rater.pk in held:
                rating_submit(
                    campaign=campaign, rater=rater, token=held.pop(rater.pk), side="left", now=clock[0]
                )
            elif roll < 0.78 and rater.pk in held:
                item_skip(campaign=campaign, rater=rater, token=held.pop(rater.pk), now=clock[0])
            elif roll < 0.85:
                held[rater.pk] = rating_undo(campaign=campaign, rater=rater, now=clock[0]).token
            elif roll < 0.9:
                if rater.pk in excluded:
                    campaign_rater_include(campaign=campaign, user=rater)
                    excluded.discard(rater.pk)
                else:
                    campaign_rater_exclude(campaign=campaign, user=rater)
                    excluded.add(rater.pk)
                    held.pop(rater.pk, None)
            else:
                clock[0] += timedelta(seconds=rng.uniform(5, 40))
        except RatingError:
            held.pop(rater.pk, None)
        _check(campaign, clock[0])

    # Every lease runs out; then the raters still in finish the campaign between them.
    clock[0] += timedelta(seconds=campaign.lease_seconds + 1)
    active = [r for r in raters if r.pk not in excluded]
    for rater in active:
        while (item := item_next(campaign=campaign, rater=rater, now=clock[0])) is not None:
            rating_submit(campaign=campaign, rater=rater, token=item.token, side="left", now=clock[0])
    _check(campaign, clock[0])
    for comparison in Comparison.objects.filter(campaign=campaign):
        counted = Rating.objects.filter(comparison=comparison).exclude(rater_id__in=excluded)
        everyone = {r.pk for r in active} <= set(counted.values_list("rater_id", flat=True))
        assert counted.count() >= comparison.needed or everyone, "an item with room was never served"


def test_a_lease_that_ran_out_frees_its_slot_while_another_is_still_running(campaign_factory, make_rater):
    # Two leases counted on an item needing two: the first runs out, the second runs on. The counter
    # still says full, but its first lease end has passed, so a third rater is served the item.
    r1, r2, r3 = make_rater("r1"), make_rater("r2"), make_rater("r3")
    campaign = campaign_factory(n_prompts=1, ratings_per_comparison=2, raters=[r1, r2, r3])
    (comparison,) = Comparison.objects.filter(campaign=campaign)
    start = timezone.now()
    assert _served(campaign, r1, start).pk == comparison.pk
    later = start + timedelta(seconds=campaign.lease_seconds - 10)
    assert _served(campaign, r2, later).pk == comparison.pk
    comparison.refresh_from_db()
    assert (comparison.taken, comparison.needed) == (2, 2)
    after_first = start + timedelta(seconds=campaign.lease_seconds + 1)
    assert _served(campaign, r3, after_first).pk == comparison.pk
    comparison.refresh_from_db()
    assert comparison.taken == 2  # r2's lease and r3's
    # And nobody else gets it while those two run.
    r4 = make_rater("r4")
    campaign.raters.add(r4)
    assert item_next(campaign=campaign, rater=r4, now=after_first) is None


def test_deleting_a_rater_gives_their_items_back(campaign_factory, make_rater):
    r1, r2 = make_rater("r1"), make_rater("r2")
    campaign = campaign_factory(n_prompts=2, raters=[r1, r2])
    for _ in range(2):
        item = _served(campaign, r1)
        rating_submit(campaign=campaign, rater=r1, token=item.token, side="left")
    assert item_next(campaign=campaign, rater=r2) is None
    r1.delete()
    assert item_next(campaign=campaign, rater=r2) is not None
    assert serving_drift(campaigns=[campaign]) == []


def test_the_migration_counts_what_the_service_counts(campaign_factory, make_rater):
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=4, ratings_per_comparison=2, raters=raters)
    for rater in raters[:2]:
        item = _served(campaign, rater)
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    _served(campaign, raters[2])
    campaign_rater_exclude(campaign=campaign, user=raters[0])
    expected = dict(Comparison.objects.filter(campaign=campaign).values_list("pk", "taken"))
    assert sum(expected.values()) == 2  # r1's rating and r3's lease; r0 is excluded
    Comparison.objects.filter(campaign=campaign).update(taken=0, lease_check_at=None)
    count_taken(_AppsAsIn0004(), None)
    assert dict(Comparison.objects.filter(campaign=campaign).values_list("pk", "taken")) == expected


def test_a_double_submit_through_the_page_stores_one_rating_and_counts_it_once(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=3, raters=[rater])
    client = login(rater)
    base = f"/rate/task/{campaign.pk}/"
    client.get(base)
    token = client.cookies["csrftoken"].value
    first = client.post(base + "next", data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    item = first.json()["item"]["token"]
    body = f'{{"token": "{item}", "side": "left", "next": true}}'
    answers = [
        client.post(
            base + "submit", data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token
        ).json()
        for _ in range(2)
    ]
    assert [a["created"] for a in answers] == [True, False]
    assert Rating.objects.filter(rater=rater).count() == 1
    assert served_item(client, item).taken == 1
