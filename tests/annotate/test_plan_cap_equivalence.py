"""Issue 28: a campaign's plan, a cap on ratings and an equivalence stop, through the command, the form,
the edit page, settling (the campaign closes) and the report's ``sequential`` block."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotate.models import Campaign, CampaignChange
from annotate.services.campaign_edit import CampaignEditError, campaign_edit
from core.users import user_create
from reports.campaign_report import source_from_campaign
from reports.exports import report_export
from tests.annotate.test_campaign_form_flow import _post
from tests.factories import PASSWORD, login, make_eval_set, make_system, run_rater


def _report(name: str) -> dict:
    return json.loads(report_export(source=source_from_campaign(name=name), fmt="json"))


def _researcher():
    return user_create(username="plan-researcher", role="researcher", password=PASSWORD)


def test_a_capped_campaign_closes_at_its_cap_and_reports_not_settled_with_its_interval(
    transactional_db, settle_eagerly, campaign_factory, make_rater
):
    rater = make_rater("cap-rater")
    campaign = campaign_factory(
        name="capped", n_prompts=120, raters=[rater], stop_when_settled=True, max_ratings=10, seed=5
    )
    coin = random.Random(1)
    made = run_rater(login(rater), campaign, lambda c: coin.choice(["left", "right"]))
    campaign.refresh_from_db()
    # The refresh after the tenth rating closes it; the item served with that rating may still come in.
    assert 10 <= made <= 11 and campaign.status == Campaign.Status.CLOSED
    assert campaign.settled_rule == "cap" and campaign.settled_after == 10
    block = _report("capped")["sequential"]
    assert block["stopped"] == "cap" and block["decided"] is None and block["max_ratings"] == 10
    assert block["ci_low"] < 0.5 < block["ci_high"]
    page = login(_researcher()).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "not settled" in page and "the cap on ratings was reached" in page


def test_an_equivalence_margin_closes_the_campaign_as_no_meaningful_difference(
    transactional_db, settle_eagerly, campaign_factory, make_rater
):
    rater = make_rater("eq-rater")
    campaign = campaign_factory(
        name="equiv", n_prompts=240, raters=[rater], stop_when_settled=True, equivalence_margin=0.45, seed=5
    )
    seen: Counter[tuple[str, str]] = Counter()

    def alternate(c) -> str:  # every cell gets as many wins as losses: no preference at all
        # Each system wins every other rating of its cell, whichever side it was shown on (the sides
        # follow the site's key: alternating sides let a cell's first ratings lean one way, and settle).
        seen[(c.prompt.category, c.prompt.setting)] += 1
        a_side, b_side = ("left", "right") if c.system_on_left == "a" else ("right", "left")
        return a_side if seen[(c.prompt.category, c.prompt.setting)] % 2 else b_side

    made = run_rater(login(rater), campaign, alternate)
    campaign.refresh_from_db()
    assert made < 240 and campaign.status == Campaign.Status.CLOSED
    assert campaign.settled_rule in ("equivalent", "all_cells_equivalent")
    block = _report("equiv")["sequential"]
    assert block["stopped"] == "equivalent" and block["equivalence_margin"] == 0.45
    assert all(c["decided"] == "equivalent" for c in block["by_cell"]) or block["decided"] == "equivalent"


def test_the_command_stores_the_plan_the_cap_and_the_margin_and_refuses_them_without_settling(db) -> None:
    eval_set = make_eval_set(name="plan-set", n_prompts=6)
    make_system("plan-a", eval_set)
    make_system("plan-b", eval_set)
    call_command(
        "create_campaign", "planned", "--eval-set", "plan-set", "--systems", "plan-a", "plan-b",
        "--stop-when-settled", "--max-ratings", "40", "--equivalence-margin", "0.05",
        "--min-effect", "0.65", "--power", "0.9", "--alpha", "0.01",
    )  # fmt: skip
    campaign = Campaign.objects.get(name="planned")
    assert (campaign.max_ratings, campaign.equivalence_margin) == (40, 0.05)
    assert (campaign.min_effect, campaign.power, campaign.alpha) == (0.65, 0.9, 0.01)
    default = {"min_effect": 0.6, "power": 0.8, "alpha": 0.05}
    call_command("create_campaign", "plain", "--eval-set", "plan-set", "--systems", "plan-a", "plan-b")
    assert {f: getattr(Campaign.objects.get(name="plain"), f) for f in default} == default
    for bad, message in (
        (["--max-ratings", "5"], "a cap on ratings only applies to a campaign that stops when settled"),
        (["--equivalence-margin", "0.1"], "an equivalence margin only applies"),
        (["--stop-when-settled", "--equivalence-margin", "0.5"], "must be above 0 and below 0.5"),
        (["--stop-when-settled", "--max-ratings", "0"], "the cap on ratings must be at least 1"),
        (["--min-effect", "0.5"], "minimum effect"),
        (["--alpha", "0.5"], "alpha must be"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command(
                "create_campaign", "bad", "--eval-set", "plan-set", "--systems", "plan-a", "plan-b", *bad
            )  # fmt: skip
    assert not Campaign.objects.filter(name="bad").exists()


def test_the_form_takes_the_plan_the_cap_and_the_margin_and_names_the_field_it_refuses(researcher_client):
    eval_set = make_eval_set(name="form-plan", n_prompts=4)
    systems = [make_system("fa", eval_set), make_system("fb", eval_set)]
    refused = _post(researcher_client, eval_set, systems, max_ratings="5")
    assert refused.status_code == 200 and "only applies to a campaign that stops when settled" in (
        refused.content.decode()
    )
    assert "max_ratings" in refused.context["form"].errors
    response = _post(
        researcher_client, eval_set, systems, stop_when_settled="on", max_ratings="30",
        equivalence_margin="0.08", min_effect="0.7",
    )  # fmt: skip
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="flow")
    assert (campaign.max_ratings, campaign.equivalence_margin, campaign.min_effect) == (30, 0.08, 0.7)
    assert (campaign.power, campaign.alpha) == (0.8, 0.05)


def test_the_edit_page_changes_the_cap_and_plan_logged_and_a_cap_below_the_ratings_given_stops_it(
    transactional_db, settle_eagerly, campaign_factory, make_rater
):
    rater, researcher = make_rater("edit-cap-rater"), _researcher()
    campaign = campaign_factory(
        name="edit-cap", n_prompts=120, raters=[rater], stop_when_settled=True, seed=5
    )
    coin = random.Random(2)
    run_rater(login(rater), campaign, lambda c: coin.choice(["left", "right"]), limit=8)
    campaign_edit(campaign=campaign, changed_by=researcher, max_ratings=5, min_effect=0.7)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED and campaign.settled_rule == "cap"
    logged = {(c.field, c.old, c.new) for c in CampaignChange.objects.filter(campaign=campaign)}
    assert logged == {("max_ratings", "none", "5"), ("min_effect", "0.6", "0.7")}
    # Raising the cap again opens it: the stop was the cap's, and the cap moved.
    campaign_edit(campaign=campaign, changed_by=researcher, max_ratings=500)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN and campaign.settled_at is None
    with pytest.raises(
        CampaignEditError, match="alpha cannot change once the campaign has ratings"
    ) as refused:
        campaign_edit(campaign=campaign, changed_by=researcher, alpha=0.01)
    assert refused.value.field == "alpha"
    page = login(researcher).get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "Cap on ratings" in page and "Equivalence margin" in page and "Plan: power" in page


def test_a_stalled_campaign_points_to_the_cap_and_the_equivalence_stop(
    transactional_db, settle_eagerly, campaign_factory, make_rater
):
    rater, researcher = make_rater("stall-cap-rater"), _researcher()
    campaign = campaign_factory(
        name="stall-cap", n_prompts=12, raters=[rater], stop_when_settled=True, max_ratings=100, seed=3
    )
    coin = random.Random(4)
    made = run_rater(login(rater), campaign, lambda c: coin.choice(["left", "right"]))
    campaign.refresh_from_db()
    assert made == 12 and campaign.stalled_at is not None
    page = login(researcher).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "lower the cap on ratings (now 100) to the 12 given" in page
    assert "or set an equivalence margin" in page
    # Taking the remedy: a cap at the ratings given stops the campaign, which ends the stall.
    campaign_edit(campaign=campaign, changed_by=researcher, max_ratings=12)
    campaign.refresh_from_db()
    assert campaign.settled_rule == "cap" and campaign.stalled_at is None
    assert campaign.status == Campaign.Status.CLOSED
