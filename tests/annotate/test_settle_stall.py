"""Issue 25.6: a stop-when-settled campaign whose open cells ran out of items stalls, and says so once."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import pytest

from annotate.models import Campaign, SequentialCell
from annotate.services.campaign_edit import campaign_edit
from annotate.signals import campaign_stalled
from core.users import user_create
from tests.factories import PASSWORD, login, run_rater


def make_rater_user(username: str, role: str = "rater"):
    return user_create(username=username, role=role, password=PASSWORD)


@pytest.fixture
def fired() -> Iterator[list[dict]]:
    events: list[dict] = []

    def listen(sender, **kwargs) -> None:
        events.append(kwargs)

    campaign_stalled.connect(listen)
    yield events
    campaign_stalled.disconnect(listen)


def test_an_undecided_campaign_out_of_items_is_marked_stalled_once_with_a_signal_a_log_line_and_the_remedy(
    transactional_db, settle_eagerly, campaign_factory, fired, caplog
):
    rater, researcher = make_rater_user("stall-rater"), make_rater_user("stall-res", role="researcher")
    # 12 prompts over 6 cells, a coin-flip rater: no cell can decide on two ratings, so every item is
    # rated while all cells stay open.
    campaign = campaign_factory(name="stall", n_prompts=12, raters=[rater], stop_when_settled=True, seed=3)
    coin = random.Random(4)
    with caplog.at_level(logging.WARNING, logger="annotate.settle_stall"):
        made = run_rater(login(rater), campaign, lambda c: coin.choice(["left", "right"]))
    campaign.refresh_from_db()
    assert made == 12 and campaign.status == Campaign.Status.OPEN and campaign.settled_at is None
    assert SequentialCell.objects.filter(campaign=campaign, closed_rule="").count() == 6
    assert campaign.stalled_at is not None
    assert [e["campaign"].pk for e in fired] == [campaign.pk], "one event for the stall, not one per refresh"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("campaign_stalled ")]
    assert len(lines) == 1 and f"campaign={campaign.pk}" in lines[0]

    page = login(researcher).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="settle-stall"' in page and "the cells still open ran out of items" in page
    assert "raise the ratings per item" in page

    # The remedy: one more rating per item serves the rater again and ends the stall.
    other = make_rater_user("stall-rater-2")
    campaign.raters.add(other)
    campaign_edit(campaign=campaign, changed_by=researcher, ratings_per_comparison=2)
    campaign.refresh_from_db()
    assert campaign.stalled_at is None
    assert run_rater(login(other), campaign, lambda c: "left", limit=1) == 1
    assert len(fired) == 1
