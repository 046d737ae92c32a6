# mypy: disable-error-code="union-attr,index"
"""The campaign page: progress, raters and the live estimate, with the report's own figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.defaultfilters import floatformat

from annotate.models import RaterExclusion
from annotate.services import comparison_gold_mark
from tests.factories import AlwaysGold, rate

pytestmark = pytest.mark.django_db


def test_the_page_shows_progress_raters_the_live_estimate_and_links_to_the_report(
    researcher_client, campaign_factory, make_rater
):
    r1, r2 = make_rater("dash-one"), make_rater("dash-two")
    campaign = campaign_factory(
        name="dash", n_prompts=4, ratings_per_comparison=2, systems=("sys-x", "sys-y"), raters=[r1, r2]
    )
    rate(campaign, r1, "left")
    rate(campaign, r2, "left")
    page = researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "dash-one" in page and "dash-two" in page
    assert 'id="progress-done">8</span> of 8 ratings needed' in page
    assert "sys-y</strong> vs <strong>sys-x" in page
    assert "/reports/?campaign=dash" in page
    assert researcher_client.get("/campaigns/").content.decode().count("dash") >= 1


def test_a_rater_cannot_open_the_campaign_page(rater_client, campaign_factory):
    campaign = campaign_factory(name="hidden")
    assert rater_client.get(f"/campaigns/{campaign.pk}/").status_code == 403


def test_each_raters_figures_on_the_page_are_the_reports(
    researcher_client, campaign_factory, make_rater, tmp_path: Path
):
    """Several raters who disagree, a gold check and an excluded rater: page and report JSON agree."""
    raters = [make_rater(f"agree-{i}") for i in range(5)]
    campaign = campaign_factory(
        name="agreement", n_prompts=8, ratings_per_comparison=5, gold_fraction=0.5, raters=raters
    )
    gold = campaign.comparisons.order_by("pk").first()
    comparison_gold_mark(comparison=gold, answer=gold.system_on_left)
    rate(campaign, raters[0], "left", rng=AlwaysGold())
    rate(campaign, raters[1], lambda n: "left" if n % 3 else "right", rng=AlwaysGold())
    rate(campaign, raters[2], lambda n: ("right", "tie", "left")[n % 3], rng=AlwaysGold())
    rate(campaign, raters[3], "right", rng=AlwaysGold())
    rate(campaign, raters[4], "both_bad", rng=AlwaysGold())
    RaterExclusion.objects.create(campaign=campaign, rater=raters[4])

    response = researcher_client.get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    on_page = {rater.username: rater.figures for rater in response.context["raters"]}

    out = tmp_path / "report.json"
    call_command("report", "--campaign", "agreement", "--format", "json", "--out", str(out))
    in_report = {row["rater"]: row for row in json.loads(out.read_text())["raters"]}

    assert set(in_report) == {f"agree-{i}" for i in range(4)}
    agreements = {row["agreement_with_majority"] for row in in_report.values()}
    assert len(agreements - {None}) >= 2, "the raters should disagree in different measure"
    for name, row in in_report.items():
        assert on_page[name] == row, name
    # The excluded rater is still listed, with figures, so a researcher can decide to include them again.
    assert on_page["agree-4"]["count"] > 0
    html = response.content.decode()
    for row in in_report.values():
        if row["agreement_with_majority"] is not None:
            # The page rounds as Django's floatformat does (0.125 -> "0.13"), not as Python's format.
            shown = floatformat(row["agreement_with_majority"], 2)
            assert f"{shown} ({row['majority_items']})" in html


def test_the_anytime_valid_card_shows_only_on_a_campaign_that_stops_when_settled(
    researcher_client, campaign_factory
):
    plain = campaign_factory(name="plain", n_prompts=2)
    page = researcher_client.get(f"/campaigns/{plain.pk}/").content.decode()
    assert 'id="sequential"' not in page and "Anytime-valid" not in page and "{#" not in page
    settling = campaign_factory(name="settling", n_prompts=2, stop_when_settled=True)
    page = researcher_client.get(f"/campaigns/{settling.pk}/").content.decode()
    assert 'id="sequential"' in page
    # One line says why it is wider than the report's interval.
    assert "fixed-n Wilson interval" in page


def test_mark_closed_and_remove_from_pool_carry_a_question_for_the_static_confirm_script(
    researcher_client, campaign_factory, make_rater
):
    campaign = campaign_factory(name="asks", n_prompts=2, raters=[make_rater("pooled")])
    page = researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-confirm="Close asks?' in page
    assert 'data-confirm="Remove pooled from the pool?' in page
    assert "core/confirm.js" in page and "onclick" not in page
