# mypy: disable-error-code="arg-type,union-attr"
"""A campaign page whose summary is slow to compute shows the last one, with its time, while a worker
computes the new one (hub.campaign_page); a quick one is computed again in the request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hub import campaign_page, campaign_summary, tasks
from hub.models import CampaignSummary
from tests.factories import rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The campaign ids whose refresh was handed to the broker (instead of running it)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.campaign_summary_task, "delay", ids.append)
    return ids


def _page(client, campaign) -> str:
    response = client.get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def stale(researcher_client, rated):
    """A campaign whose stored summary took seconds (as at a million comparisons) and one rating old."""
    campaign, raters = rated
    assert 'id="progress-done">2</span>' in _page(researcher_client, campaign)
    CampaignSummary.objects.filter(campaign=campaign).update(compute_seconds=8.0)
    rate(campaign, raters[1], "right", n=1)
    return campaign


def test_a_slow_summary_is_shown_as_it_was_while_one_worker_refresh_is_queued(
    researcher_client, stale, queued, django_capture_on_commit_callbacks
):
    campaign = stale
    with django_capture_on_commit_callbacks(execute=True):
        first = _page(researcher_client, campaign)
        second = _page(researcher_client, campaign)
    assert 'id="progress-done">2</span>' in first and 'id="summary-as-of"' in first
    assert 'id="progress-done">2</span>' in second
    assert queued == [campaign.pk]  # one refresh in flight, not one per view

    tasks.campaign_summary_task(campaign.pk)  # what the worker runs
    current = _page(researcher_client, campaign)
    assert 'id="progress-done">3</span>' in current and 'id="summary-as-of"' not in current
    assert CampaignSummary.objects.get(campaign=campaign).refresh_queued_at is None


def test_a_quick_summary_is_computed_again_in_the_request(researcher_client, rated, queued):
    campaign, raters = rated
    _page(researcher_client, campaign)
    rate(campaign, raters[1], "right", n=1)
    page = _page(researcher_client, campaign)
    assert 'id="progress-done">3</span>' in page and 'id="summary-as-of"' not in page
    assert queued == []


def test_with_an_eager_broker_the_refresh_runs_once_the_view_commits(
    researcher_client, stale, settle_eagerly, django_capture_on_commit_callbacks
):
    campaign = stale
    with django_capture_on_commit_callbacks(execute=True):
        assert 'id="summary-as-of"' in _page(researcher_client, campaign)
    assert 'id="progress-done">3</span>' in _page(researcher_client, campaign)


def test_a_refresh_that_could_not_be_queued_lets_the_next_view_try_again(
    researcher_client, stale, monkeypatch, django_capture_on_commit_callbacks
):
    campaign = stale

    def down(campaign_id: int) -> None:
        raise ConnectionError("no broker")

    monkeypatch.setattr(tasks.campaign_summary_task, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        assert 'id="summary-as-of"' in _page(researcher_client, campaign)
    assert CampaignSummary.objects.get(campaign=campaign).refresh_queued_at is None


def test_a_refresh_queued_long_ago_is_taken_for_lost(
    researcher_client, stale, queued, django_capture_on_commit_callbacks
):
    campaign = stale
    recent = timezone.now() - timedelta(minutes=1)
    CampaignSummary.objects.filter(campaign=campaign).update(refresh_queued_at=recent)
    with django_capture_on_commit_callbacks(execute=True):
        _page(researcher_client, campaign)
    assert queued == []
    lost = timezone.now() - campaign_page.REFRESH_STALE - timedelta(minutes=1)
    CampaignSummary.objects.filter(campaign=campaign).update(refresh_queued_at=lost)
    with django_capture_on_commit_callbacks(execute=True):
        _page(researcher_client, campaign)
    assert queued == [campaign.pk]


@pytest.mark.parametrize("spoil", [{"data": b"not a pickle"}, {"layout": campaign_summary.LAYOUT + 1}])
def test_a_summary_that_cannot_be_read_is_computed_again(researcher_client, stale, queued, spoil):
    campaign = stale
    CampaignSummary.objects.filter(campaign=campaign).update(**spoil)
    page = _page(researcher_client, campaign)
    assert 'id="progress-done">3</span>' in page and 'id="summary-as-of"' not in page
    row = CampaignSummary.objects.get(campaign=campaign)
    assert row.layout == campaign_summary.LAYOUT and queued == []


def test_the_refresh_of_a_deleted_campaign_does_nothing(rated):
    campaign, _ = rated
    campaign_summary.campaign_summary_refresh(campaign_id=campaign.pk)
    pk = campaign.pk
    campaign.delete()
    campaign_summary.campaign_summary_refresh(campaign_id=pk)
    assert not CampaignSummary.objects.filter(campaign_id=pk).exists()


def test_a_campaign_built_by_the_service_has_its_summary_computed_on_a_worker(
    campaign_factory, settle_eagerly, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_factory(name="built-summary", n_prompts=3)
    assert CampaignSummary.objects.filter(campaign=campaign).exists()


def test_a_campaign_built_by_the_job_has_its_summary_computed_on_a_worker(
    settle_eagerly, django_capture_on_commit_callbacks
):
    from annotate.build_jobs import campaign_build_start
    from annotate.build_runner import campaign_build_run
    from annotate.services import campaign_create
    from tests.factories import make_eval_set, make_system

    eval_set = make_eval_set(name="job-summary", n_prompts=4)
    systems = [make_system(name, eval_set).name for name in ("job-a", "job-b")]
    campaign = campaign_create(name="job-summary", eval_set=eval_set, systems=systems, build=False)
    build = campaign_build_start(campaign=campaign, seed=3)
    assert not CampaignSummary.objects.filter(campaign=campaign).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_build_run(build_id=build.pk).status == "done"
    assert CampaignSummary.objects.filter(campaign=campaign).exists()


@pytest.fixture
def large(monkeypatch):
    """Campaigns of more than one comparison count as large (as a million does by default)."""
    monkeypatch.setattr(campaign_page, "PENDING_ABOVE", 1)


def test_a_large_campaign_without_a_summary_says_a_worker_is_computing_it_and_queues_one_refresh(
    researcher_client, rated, large, queued, django_capture_on_commit_callbacks
):
    campaign, _ = rated
    with django_capture_on_commit_callbacks(execute=True):
        first = _page(researcher_client, campaign)
        second = _page(researcher_client, campaign)
    for page in (first, second):
        assert 'id="summary-pending"' in page and 'http-equiv="refresh"' in page
        assert 'id="progress-done"' not in page
    assert queued == [campaign.pk]  # one refresh in flight, not one per view

    tasks.campaign_summary_task(campaign.pk)  # what the worker runs
    ready = _page(researcher_client, campaign)
    assert 'id="progress-done">2</span>' in ready and 'id="summary-pending"' not in ready


def test_a_large_campaign_summary_can_be_computed_in_the_request_when_asked(
    researcher_client, rated, large, queued
):
    campaign, _ = rated
    response = researcher_client.get(f"/campaigns/{campaign.pk}/?compute=now")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="progress-done">2</span>' in page
    assert queued == [] and 'id="summary-pending"' not in _page(researcher_client, campaign)


def test_a_small_campaign_without_a_summary_has_it_computed_in_the_request(researcher_client, rated, queued):
    campaign, _ = rated
    assert 'id="progress-done">2</span>' in _page(researcher_client, campaign)
    assert queued == []


def test_the_first_view_of_a_campaign_just_built_waits_for_the_refresh_its_build_queued(
    researcher_client, campaign_factory, large, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_factory(name="just-built", n_prompts=3)
    assert queued == [campaign.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert 'id="summary-pending"' in _page(researcher_client, campaign)
    assert queued == [campaign.pk]
