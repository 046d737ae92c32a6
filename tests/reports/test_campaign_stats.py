# mypy: disable-error-code="union-attr,index"
"""The campaign page's figures are the report's: per-rater rows and the live preference estimate."""

from __future__ import annotations

import pytest

from analysis.report import report_build
from annotate.models import RaterExclusion
from annotate.services import comparison_gold_mark
from reports.campaign_records import campaign_rating_records
from reports.campaign_stats import campaign_preference_estimate, campaign_raters
from tests.factories import AlwaysGold, rate

pytestmark = pytest.mark.django_db


def test_rater_figures_count_median_gold_accuracy_and_agreement_with_the_majority(
    campaign_factory, make_rater
):
    r1, r2, r3 = make_rater("q1"), make_rater("q2"), make_rater("q3")
    campaign = campaign_factory(
        name="qc", n_prompts=6, ratings_per_comparison=3, gold_fraction=0.5, raters=[r1, r2, r3]
    )
    gold = campaign.comparisons.order_by("pk").first()
    # The gold answer is the system shown on the left, so "left" is right and "right" is wrong.
    comparison_gold_mark(comparison=gold, answer=gold.system_on_left)
    rate(campaign, r1, "left", rng=AlwaysGold())
    rate(campaign, r2, "left", rng=AlwaysGold())
    rate(campaign, r3, "right", rng=AlwaysGold())
    figures = {rater.username: rater.figures for rater in campaign_raters(campaign=campaign)}
    assert figures["q1"]["count"] == 6 and 0 <= figures["q1"]["median_seconds"] <= 4.0
    assert (figures["q1"]["gold_items"], figures["q1"]["gold_accuracy"]) == (1, 1.0)
    assert figures["q3"]["gold_accuracy"] == 0.0
    # For q1 the others split (q2 with it, q3 against) on every item: no majority to agree with.
    assert (figures["q1"]["majority_items"], figures["q1"]["agreement_with_majority"]) == (0, None)
    # q3 always goes against the other two.
    assert (figures["q3"]["majority_items"], figures["q3"]["agreement_with_majority"]) == (6, 0.0)


def test_an_excluded_rater_gets_the_row_the_report_would_give_were_they_included(
    campaign_factory, make_rater
):
    r1, r2, r3 = make_rater("x1"), make_rater("x2"), make_rater("x3")
    campaign = campaign_factory(name="excl", n_prompts=4, ratings_per_comparison=3, raters=[r1, r2, r3])
    rate(campaign, r1, "left")
    rate(campaign, r2, "left")
    rate(campaign, r3, "right")
    RaterExclusion.objects.create(campaign=campaign, rater=r3)
    rows = {rater.username: rater for rater in campaign_raters(campaign=campaign)}
    assert rows["x3"].excluded and rows["x3"].figures["agreement_with_majority"] == 0.0
    report = report_build(records=campaign_rating_records(campaign=campaign))
    assert {row["rater"] for row in report["raters"]} == {"x1", "x2"}
    for row in report["raters"]:
        assert rows[row["rater"]].figures == row


def test_a_pool_member_without_ratings_is_listed_without_figures(campaign_factory, make_rater):
    idle = make_rater("idle")
    campaign = campaign_factory(name="idle", raters=[idle])
    (only,) = campaign_raters(campaign=campaign)
    assert only.username == "idle" and only.in_pool and only.figures is None


def test_the_live_estimate_counts_like_the_reports_overall_block(campaign_factory, make_rater):
    r1, r2 = make_rater("p1"), make_rater("p2")
    campaign = campaign_factory(name="pref", n_prompts=6, ratings_per_comparison=2, raters=[r1, r2])
    rate(campaign, r1, lambda number: ("left", "right", "tie", "both_bad")[number % 4])
    rate(campaign, r2, "right")
    (estimate,) = campaign_preference_estimate(campaign=campaign)
    overall = report_build(records=campaign_rating_records(campaign=campaign))["overall"]
    assert (estimate["baseline"], estimate["candidate"]) == ("sys-alpha", "sys-beta")
    for key in ("n", "wins", "losses", "ties", "both_bad", "preference_rate"):
        assert estimate[key] == overall[key], key
