# mypy: disable-error-code="arg-type,union-attr"
"""The campaign page keeps its summary while the campaign does not change (hub.campaign_page), and
every change the summary depends on gives a fresh one (annotate.page_version)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from annotate.assignment import rating_undo
from annotate.models import Campaign, Comparison, Rating
from annotate.page_version import campaign_page_fingerprint
from annotate.services import campaign_rater_add, campaign_rater_exclude, comparison_gold_mark
from annotate.services.campaign_edit import campaign_edit
from annotate.services.rating_requests import comparison_request_rating
from hub import campaign_summary
from tests.factories import rate

pytestmark = pytest.mark.django_db


def _page(client, campaign: Campaign) -> str:
    response = client.get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_summary_is_computed_once_while_the_campaign_does_not_change(
    researcher_client, rated, monkeypatch
):
    campaign, _ = rated
    calls = []
    original = campaign_summary.campaign_raters

    def counted(**kwargs):
        calls.append(1)
        return original(**kwargs)

    monkeypatch.setattr(campaign_summary, "campaign_raters", counted)
    _page(researcher_client, campaign)
    second = _page(researcher_client, campaign)
    assert len(calls) == 1
    assert 'id="progress-done">2</span> of 8 ratings needed' in second


def test_a_new_rating_shows_at_once(researcher_client, rated):
    campaign, raters = rated
    assert 'id="progress-done">2</span>' in _page(researcher_client, campaign)
    rate(campaign, raters[1], "right", n=1)
    assert 'id="progress-done">3</span>' in _page(researcher_client, campaign)


def _undo(campaign: Campaign, raters) -> None:
    rating_undo(campaign=campaign, rater=raters[0])


def _exclude(campaign: Campaign, raters) -> None:
    campaign_rater_exclude(campaign=campaign, user=raters[0], reason="checks")


def _add_rater(campaign: Campaign, raters) -> None:
    from core.users import user_create

    campaign_rater_add(campaign=campaign, user=user_create(username="cache-three", role="rater"))


def _more(campaign: Campaign, raters) -> None:
    open_item = Comparison.objects.filter(campaign=campaign, ratings__isnull=True).first()
    comparison_request_rating(comparison=open_item, by=raters[0])


def _gold(campaign: Campaign, raters) -> None:
    comparison_gold_mark(comparison=Comparison.objects.filter(campaign=campaign).first(), answer="a")


def _edit(campaign: Campaign, raters) -> None:
    campaign_edit(campaign=campaign, changed_by=None, min_seconds=campaign.min_seconds + 1)


def _rating_moved(campaign: Campaign, raters) -> None:
    # Not something the app does, but a test may: the pace reads the first rating's time.
    first = Rating.objects.filter(campaign=campaign).order_by("created").first()
    Rating.objects.filter(pk=first.pk).update(created=first.created.replace(year=2020))


@pytest.mark.parametrize(
    "change", [_undo, _exclude, _add_rater, _more, _gold, _edit, _rating_moved], ids=lambda f: f.__name__
)
def test_each_change_the_summary_depends_on_gives_a_fresh_one(
    rated, change: Callable[[Campaign, list], None], django_capture_on_commit_callbacks
):
    campaign, raters = rated
    before = campaign_page_fingerprint(campaign=Campaign.objects.get(pk=campaign.pk))
    with django_capture_on_commit_callbacks(execute=True):
        change(campaign, raters)
    assert campaign_page_fingerprint(campaign=Campaign.objects.get(pk=campaign.pk)) != before


def test_a_rating_asked_for_on_an_item_with_room_shows_in_what_is_needed(
    researcher_client, rated, django_capture_on_commit_callbacks
):
    campaign, raters = rated
    assert "of 8 ratings needed" in _page(researcher_client, campaign)
    with django_capture_on_commit_callbacks(execute=True):
        _more(campaign, raters)
    assert "of 9 ratings needed" in _page(researcher_client, campaign)


def test_a_gold_answer_changed_in_place_gives_a_fresh_summary(rated, django_capture_on_commit_callbacks):
    campaign, _raters = rated
    item = Comparison.objects.filter(campaign=campaign).first()
    comparison_gold_mark(comparison=item, answer="a")
    before = campaign_page_fingerprint(campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        comparison_gold_mark(comparison=item, answer="b")
    assert campaign_page_fingerprint(campaign=campaign) != before
