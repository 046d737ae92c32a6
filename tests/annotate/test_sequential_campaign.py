"""Stop when settled, end to end through the rater endpoints: cells close, the campaign stops, serving follows."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from annotate.adaptive import adaptive_rank, cell_weights, open_cells_only
from annotate.models import Campaign, Comparison, Rating, SequentialCell
from annotate.services import CampaignError, campaign_create
from annotate.settling import campaign_settle_refresh
from reports.campaign_report import source_from_campaign
from reports.exports import report_export
from tests.factories import login, make_eval_set, make_system, prefer, run_rater


@pytest.fixture
def settled_campaign(transactional_db, settle_eagerly, campaign_factory, make_rater):
    # Real commits (settling is queued after commit) and an eager queue: cells are refreshed after each rating.
    rater = make_rater("seq-rater")
    campaign = campaign_factory(name="seq", n_prompts=120, raters=[rater], stop_when_settled=True, seed=5)
    return campaign, rater


def test_cells_close_by_rule_and_the_campaign_stops(settled_campaign) -> None:
    campaign, rater = settled_campaign
    # The candidate (system B) wins every writing item, the baseline every coding item: each cell
    # decides, the share-weighted overall rate stays near 0.5, so the campaign stops when all cells close.
    made = run_rater(
        login(rater), campaign, lambda c: prefer(c, "b" if c.prompt.category == "writing" else "a")
    )
    campaign.refresh_from_db()
    cells = list(SequentialCell.objects.filter(campaign=campaign))
    assert len(cells) == 6 and all(not c.is_open for c in cells)
    for cell in cells:
        expected = "decided_candidate" if cell.category == "writing" else "decided_baseline"
        assert cell.closed_rule == expected and cell.closed_at is not None
        # It closed on the rating that settled it, well before its 20 prompts were used up; the item
        # served together with that rating, before settling ran, may still be rated there.
        assert cell.closed_after is not None
        assert cell.closed_after <= cell.ratings <= cell.closed_after + 1 < 20
    assert campaign.status == Campaign.Status.CLOSED
    assert campaign.settled_rule == "all_cells_closed" and campaign.settled_after == made
    assert made == Rating.objects.filter(campaign=campaign).count() < 120
    # The report's sequential block says the same.
    report = json.loads(report_export(source=source_from_campaign(name="seq"), fmt="json"))
    block = report["sequential"]
    assert block["ratings"] == made and block["decided"] is None
    assert {(c["category"], c["decided"]) for c in block["by_cell"]} == {
        ("writing", "candidate"),
        ("coding", "baseline"),
    }


def test_overall_decision_stops_the_campaign_and_page_says_why(settled_campaign, client) -> None:
    campaign, rater = settled_campaign
    made = run_rater(login(rater), campaign, lambda c: prefer(c, "b"))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED and campaign.settled_rule in (
        "decided_candidate",
        "all_cells_decided_candidate",
    )
    assert campaign.settled_after == made < 120
    researcher = _researcher()
    page = login(researcher).get(reverse("hub:campaign_detail", args=[campaign.pk])).content.decode()
    assert "Anytime-valid interval" in page and "Howard" in page
    assert f"after {made} ratings" in page and "the candidate is preferred" in page and "Stopped" in page


def _researcher():
    from core.users import user_create

    return user_create(username="seq-researcher", role="researcher", password="x-pass-123")


def test_serving_skips_closed_cells_and_prefers_wide_ones(settled_campaign) -> None:
    campaign, _rater = settled_campaign
    campaign_settle_refresh(campaign_id=campaign.pk)  # cells exist from the start, all [0, 1]
    cells = list(SequentialCell.objects.filter(campaign=campaign).order_by("pk"))
    assert len(cells) == 6 and all(c.width == 1.0 for c in cells)
    closed, narrow, *_wide = cells
    SequentialCell.objects.filter(pk=closed.pk).update(closed_rule="precise")
    SequentialCell.objects.filter(pk=narrow.pk).update(ci_low=0.45, ci_high=0.55)
    base = Comparison.objects.filter(campaign=campaign)
    assert (
        not open_cells_only(base, campaign=campaign)
        .filter(prompt__category=closed.category, prompt__setting=closed.setting)
        .exists()
    )
    rng = random.Random(0)
    drawn: Counter[tuple[str, str]] = Counter()
    for _ in range(400):
        first = (
            adaptive_rank(base, campaign=campaign, rng=rng)
            .order_by("cell_rank", "pk")  # type: ignore[misc]
            .select_related("prompt")[0]
        )
        drawn[(first.prompt.category, first.prompt.setting)] += 1
    assert drawn[(closed.category, closed.setting)] == 0
    narrow_share = drawn[(narrow.category, narrow.setting)] / 400
    expected = cell_weights([0.1, 1, 1, 1, 1])[0]  # the floor keeps the narrow cell sampled
    assert 0.0 < narrow_share < 0.1 and narrow_share == pytest.approx(expected, abs=0.03)


def test_cell_weights_floor() -> None:
    assert cell_weights([]) == []
    assert cell_weights([0.0, 0.0]) == [0.5, 0.5]
    w = cell_weights([0.0, 1.0], floor_share=0.2)
    assert w == pytest.approx([0.1, 0.9]) and sum(w) == pytest.approx(1.0)


def test_plain_campaigns_are_unchanged(campaign_factory) -> None:
    campaign = campaign_factory(name="plain", n_prompts=6)
    qs = Comparison.objects.filter(campaign=campaign)
    assert open_cells_only(qs, campaign=campaign) is qs
    assert campaign_settle_refresh(campaign_id=campaign.pk) is None
    assert not SequentialCell.objects.exists()


def test_create_campaign_command_and_bad_precision(db, capsys) -> None:
    eval_set = make_eval_set(name="cmd-set", n_prompts=6)
    make_system("cmd-a", eval_set)
    make_system("cmd-b", eval_set)
    call_command(
        "create_campaign", "cmd", "--eval-set", "cmd-set", "--systems", "cmd-a", "cmd-b",
        "--stop-when-settled", "--precision", "0.2",
    )  # fmt: skip
    campaign = Campaign.objects.get(name="cmd")
    assert campaign.stop_when_settled and campaign.precision == 0.2
    for bad in (["--stop-when-settled", "--precision", "1.5"], ["--precision", "0.2"]):
        with pytest.raises(CommandError):
            call_command(
                "create_campaign", f"bad{len(bad)}", "--eval-set", "cmd-set", "--systems", "cmd-a", "cmd-b", *bad
            )  # fmt: skip
    assert Campaign.objects.count() == 1
    with pytest.raises(CampaignError):
        campaign_create(
            name="x", eval_set=eval_set, systems=["cmd-a", "cmd-b"], stop_when_settled=True, precision=0
        )
