"""Settling belongs to annotate: the services ask for it after commit, one refresh runs at a time per
campaign, and an exclusion reconsiders what settled."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

import annotate.settling
from annotate.assignment import item_next, rating_submit, rating_undo
from annotate.models import Campaign, CampaignSettling, Rating, SequentialCell
from annotate.services import campaign_rater_exclude, campaign_rater_include
from annotate.settle_state import settle_request_count
from annotate.settling import campaign_settle
from annotate.tasks import campaign_settle_task

pytestmark = pytest.mark.django_db(transaction=True)


def _prefer(comparison, system: str) -> str:
    return "left" if comparison.system_on_left == system else "right"


def rate_until(campaign: Campaign, rater: User, choose, *, limit: int) -> int:
    """Rate through the services (no view) until nothing is served, the limit, or the campaign closes."""
    made = 0
    while made < limit:
        campaign.refresh_from_db()
        if campaign.status != Campaign.Status.OPEN:
            break
        item = item_next(campaign=campaign, rater=rater)
        if item is None:
            break
        rating_submit(campaign=campaign, rater=rater, token=item.token, side=choose(item, made), seconds=4.0)
        made += 1
    return made


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The campaigns whose settling was queued, in order; nothing runs (no broker, no eager mode)."""
    calls: list[int] = []
    monkeypatch.setattr(campaign_settle_task, "delay", lambda campaign_id: calls.append(campaign_id))
    return calls


def test_a_rating_through_the_service_settles_the_campaign_without_any_view(
    settle_eagerly, campaign_factory, make_rater
) -> None:
    rater = make_rater("svc-rater")
    campaign = campaign_factory(name="svc", n_prompts=120, raters=[rater], stop_when_settled=True, seed=2)
    made = rate_until(campaign, rater, lambda item, n: _prefer(item, "b"), limit=120)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED and campaign.settled_rule.endswith("decided_candidate")
    assert campaign.settled_after == made == Rating.objects.filter(campaign=campaign).count() < 120
    assert sum(SequentialCell.objects.filter(campaign=campaign).values_list("ratings", flat=True)) == made


def test_requests_while_one_is_queued_queue_no_second_refresh(queued, campaign_factory, make_rater) -> None:
    rater = make_rater("q-rater")
    campaign = campaign_factory(name="q", n_prompts=12, raters=[rater], stop_when_settled=True)
    rate_until(campaign, rater, lambda item, n: "left", limit=3)
    state = CampaignSettling.objects.get(campaign=campaign)
    assert queued == [campaign.pk] and state.requested == 3 and state.queued_at is not None
    # Nothing ran in the request: the cells made with the campaign hold no refresh's figures yet.
    assert not SequentialCell.objects.filter(campaign=campaign, share__gt=0).exists()

    assert campaign_settle(campaign_id=campaign.pk) is False
    state.refresh_from_db()
    assert state.queued_at is None
    assert sum(SequentialCell.objects.filter(campaign=campaign).values_list("ratings", flat=True)) == 3
    # Nothing in flight now: the next rating queues a refresh again, and an undo asks for one too.
    rate_until(campaign, rater, lambda item, n: "left", limit=1)
    assert queued == [campaign.pk, campaign.pk]
    campaign_settle(campaign_id=campaign.pk)
    rating_undo(campaign=campaign, rater=rater)
    assert queued == [campaign.pk] * 3


def test_a_request_during_a_refresh_makes_it_run_again(
    queued, campaign_factory, make_rater, monkeypatch
) -> None:
    rater = make_rater("again-rater")
    campaign = campaign_factory(name="again", n_prompts=12, raters=[rater], stop_when_settled=True)
    rate_until(campaign, rater, lambda item, n: "left", limit=2)
    refresh = annotate.settling.campaign_settle_refresh
    runs: list[int] = []

    def refresh_while_a_rating_arrives(**kwargs):  # type: ignore[no-untyped-def]
        runs.append(Rating.objects.filter(campaign=campaign).count())
        if len(runs) == 1:
            rate_until(campaign, rater, lambda item, n: "left", limit=1)
            # What that rating's commit does; no second task is queued, this refresh runs again instead.
            assert settle_request_count(campaign_id=campaign.pk, reconsider=False) is None
        return refresh(**kwargs)

    monkeypatch.setattr(annotate.settling, "campaign_settle_refresh", refresh_while_a_rating_arrives)
    assert campaign_settle(campaign_id=campaign.pk) is False
    assert runs == [2, 3] and queued == [campaign.pk]
    assert CampaignSettling.objects.get(campaign=campaign).queued_at is None
    assert sum(SequentialCell.objects.filter(campaign=campaign).values_list("ratings", flat=True)) == 3


def test_a_queue_that_fails_leaves_nothing_in_flight(campaign_factory, make_rater, monkeypatch) -> None:
    def no_broker(campaign_id: int) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(campaign_settle_task, "delay", no_broker)
    rater = make_rater("down-rater")
    campaign = campaign_factory(name="down", n_prompts=12, raters=[rater], stop_when_settled=True)
    assert rate_until(campaign, rater, lambda item, n: "left", limit=2) == 2  # the ratings are stored
    state = CampaignSettling.objects.get(campaign=campaign)
    assert state.requested == 2 and state.queued_at is None


def test_plain_campaigns_queue_nothing(queued, campaign_factory, make_rater) -> None:
    rater = make_rater("plain-rater")
    campaign = campaign_factory(name="plain", n_prompts=6, raters=[rater])
    rate_until(campaign, rater, lambda item, n: "left", limit=3)
    campaign_rater_exclude(campaign=campaign, user=rater)
    assert queued == [] and not CampaignSettling.objects.exists()


def test_excluding_the_rater_who_settled_a_campaign_opens_it_again(
    settle_eagerly, campaign_factory, make_rater
) -> None:
    fair, keen = make_rater("fair"), make_rater("keen")
    # 40 prompts a cell: however the fair rater's votes fall into cells, the keen one has enough items
    # left in every cell to settle it (with 20 a cell, a cell holding four of the fair "a" votes could
    # run out of items undecided, and the campaign stall open).
    campaign = campaign_factory(
        name="unsettle", n_prompts=240, ratings_per_comparison=2, raters=[fair, keen], stop_when_settled=True
    )
    # The fair rater has no preference; the keen one always prefers the candidate, and settles it.
    rate_until(campaign, fair, lambda item, n: _prefer(item, "ab"[n % 2]), limit=20)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN
    rate_until(campaign, keen, lambda item, n: _prefer(item, "b"), limit=240)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED and campaign.settled_at is not None
    closed_cells = SequentialCell.objects.filter(campaign=campaign).exclude(closed_rule="").count()

    # Without the keen rater's ratings the interval holds 0.5 again: the campaign opens, as do its cells.
    campaign_rater_exclude(campaign=campaign, user=keen, reason="always the candidate")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN
    assert (campaign.settled_rule, campaign.settled_at, campaign.settled_after) == ("", None, None)
    assert SequentialCell.objects.filter(campaign=campaign).exclude(closed_rule="").count() < max(
        closed_cells, 1
    )
    assert sum(SequentialCell.objects.filter(campaign=campaign).values_list("ratings", flat=True)) == 20

    # Let back in, their ratings settle it again.
    campaign_rater_include(campaign=campaign, user=keen)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED and campaign.settled_at is not None


def test_an_exclusion_that_leaves_the_decision_standing_keeps_the_campaign_closed(
    settle_eagerly, campaign_factory, make_rater
) -> None:
    first, second, idle = make_rater("first"), make_rater("second"), make_rater("idle")
    campaign = campaign_factory(
        name="stands",
        n_prompts=120,
        ratings_per_comparison=2,
        raters=[first, second, idle],
        stop_when_settled=True,
    )
    # The rater excluded later voted twice against the decision: without them it stands all the more.
    rate_until(campaign, idle, lambda item, n: _prefer(item, "a"), limit=2)
    rate_until(campaign, first, lambda item, n: _prefer(item, "b"), limit=60)
    rate_until(campaign, second, lambda item, n: _prefer(item, "b"), limit=60)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    settled = (campaign.settled_rule, campaign.settled_at)
    campaign_rater_exclude(campaign=campaign, user=idle)
    campaign.refresh_from_db()
    assert (
        campaign.status == Campaign.Status.CLOSED and (campaign.settled_rule, campaign.settled_at) == settled
    )
