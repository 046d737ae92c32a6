"""Progress counted in the database gives the figures the row-by-row count gave (the dashboard, the API
and the campaign page show them), and the campaign list counts each campaign's items and ratings."""

from __future__ import annotations

import statistics

import pytest
from django.db.models import Count, Q
from django.urls import reverse

from annotate.models import Campaign, Comparison, RaterExclusion, Rating
from annotate.selectors import campaign_item_progress, campaign_progress, campaigns_with_counts


def _by_rows(campaign: Campaign) -> tuple[int, int, int, float | None]:
    """What campaign_progress computed before (issue 31): every regular comparison's count, in Python."""
    excluded = list(RaterExclusion.objects.filter(campaign=campaign).values_list("rater_id", flat=True))
    rows = (
        campaign.comparisons.filter(gold_answer__isnull=True)
        .annotate(n=Count("ratings", filter=~Q(ratings__rater_id__in=excluded)))
        .values_list("n", "needed")
    )
    secs = list(
        Rating.objects.filter(campaign=campaign)
        .exclude(rater_id__in=excluded)
        .values_list("seconds", flat=True)
    )
    return (
        len(rows),
        sum(need for _n, need in rows),
        sum(min(n, need) for n, need in rows),
        statistics.median(secs) if secs else None,
    )


def _vote(comparison: Comparison, rater, choice: str, seconds: float) -> None:
    Rating.objects.create(
        comparison=comparison, campaign=comparison.campaign, rater=rater, choice=choice, side="left",
        seconds=seconds,
    )  # fmt: skip


@pytest.fixture
def raters(make_rater):
    return [make_rater(f"counted-{i}") for i in range(4)]


@pytest.mark.parametrize("extra_seconds", [[], [9.5]])  # an even and an odd number of ratings
def test_progress_in_the_database_equals_the_row_by_row_count(campaign_factory, raters, extra_seconds):
    campaign = campaign_factory(name="counted", n_prompts=8, ratings_per_comparison=2, raters=raters)
    items = list(campaign.comparisons.order_by("pk"))
    items[7].gold_answer = "a"  # a gold check: rated, but not counted as progress
    items[7].save()
    Comparison.objects.filter(pk=items[1].pk).update(needed=1)  # over-rated below: counts up to its need
    Comparison.objects.filter(pk=items[2].pk).update(needed=4)  # asked for more ratings
    for rater, seconds in zip(raters, (3.0, 7.25, 1.5, 12.0), strict=True):
        _vote(items[1], rater, "a", seconds)
    _vote(items[0], raters[0], "b", 2.0)
    _vote(items[2], raters[1], "tie", 4.0)
    _vote(items[2], raters[3], "a", 30.0)  # raters[3] is excluded: not counted anywhere
    _vote(items[7], raters[0], "a", 5.0)
    for seconds in extra_seconds:
        _vote(items[3], raters[2], "both_bad", seconds)
    RaterExclusion.objects.create(campaign=campaign, rater=raters[3], reason="test")
    campaign_factory(name="elsewhere", n_prompts=2)  # another campaign's rows stay out

    comparisons, needed, done, median = _by_rows(campaign)
    items_done = campaign_item_progress(campaign=campaign)
    progress = campaign_progress(campaign=campaign)
    assert (items_done.comparisons, items_done.needed, items_done.done) == (comparisons, needed, done)
    assert (progress.comparisons, progress.needed, progress.done) == (comparisons, needed, done)
    assert progress.median_seconds == median
    assert (comparisons, needed, done) == (7, 2 * 5 + 1 + 4, 1 + 1 + 1 + len(extra_seconds))


def test_progress_of_a_campaign_without_ratings_is_zero_done(campaign_factory):
    campaign = campaign_factory(name="fresh", n_prompts=3)
    progress = campaign_progress(campaign=campaign)
    assert (progress.done, progress.needed, progress.median_seconds) == (0, 3, None)
    assert _by_rows(campaign) == (3, 3, 0, None)


def test_the_dashboard_shows_done_against_needed_and_counts_again_after_a_rating(
    researcher_client, campaign_factory, raters
):
    campaign = campaign_factory(name="shown", n_prompts=4, ratings_per_comparison=2, raters=raters)
    for item, rater in zip(campaign.comparisons.order_by("pk"), raters, strict=False):
        _vote(item, rater, "a", 3.0)
    page = researcher_client.get(reverse("dashboard")).content.decode()
    assert 'max="8" value="4"' in page and "4 / 8" in page
    # Kept while nothing changes, counted again after a rating.
    assert "4 / 8" in researcher_client.get(reverse("dashboard")).content.decode()
    _vote(campaign.comparisons.order_by("pk").last(), raters[0], "b", 3.0)
    assert "5 / 8" in researcher_client.get(reverse("dashboard")).content.decode()


def test_the_campaign_list_counts_each_campaigns_items_and_ratings(
    researcher_client, campaign_factory, raters
):
    rated = campaign_factory(name="listed", n_prompts=5, raters=raters)
    for item, rater in zip(rated.comparisons.order_by("pk"), raters, strict=False):
        _vote(item, rater, "a", 3.0)
    _vote(rated.comparisons.order_by("pk").first(), raters[1], "b", 3.0)
    empty = campaign_factory(name="unrated", n_prompts=3)
    counts = {c.name: (c.n_comparisons, c.n_ratings) for c in campaigns_with_counts()}  # type: ignore[attr-defined]
    assert counts == {"listed": (5, 5), "unrated": (3, 0)}
    assert empty.comparisons.count() == 3
    assert researcher_client.get(reverse("annotate:campaign_list")).status_code == 200
