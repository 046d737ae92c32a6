# mypy: disable-error-code="union-attr"
"""The one door from annotate to the reports: a campaign's ratings as rating records."""

from __future__ import annotations

import pytest

from analysis.report import report_build
from annotate.models import RaterExclusion
from annotate.services import comparison_gold_mark, gold_upload
from reports.campaign_records import campaign_rating_records
from tests.factories import rate

pytestmark = pytest.mark.django_db


def test_rating_records_unblind_systems_and_leave_out_excluded_raters(campaign_factory, make_rater):
    r1, r2 = make_rater("e1"), make_rater("e2")
    # Three coding prompts rated; a writing one (p000) left for the gold pair.
    campaign = campaign_factory(
        name="export", n_prompts=6, ratings_per_comparison=2, raters=[r1, r2], categories=["coding"]
    )
    rate(campaign, r1, "left")
    rate(campaign, r2, "right")
    gold_upload(campaign=campaign, data=b'{"prompt_id": "p000", "text_a": "a", "text_b": "b", "answer": "a"}')
    records = campaign_rating_records(campaign=campaign)
    assert len(records) == 6
    for rec in records:
        assert rec.campaign == "export" and (rec.system_a, rec.system_b) == ("sys-alpha", "sys-beta")
        assert rec.system_on_left in ("a", "b") and rec.prompt_text.startswith("Prompt number")
        assert rec.text_a.startswith("Answer to") and rec.seconds >= 0 and "T" in rec.created
        expected = rec.system_on_left if rec.rater == "e1" else {"a": "b", "b": "a"}[rec.system_on_left]
        assert rec.choice == expected
        assert rec.category and rec.setting
    RaterExclusion.objects.create(campaign=campaign, rater=r2)
    assert {r.rater for r in campaign_rating_records(campaign=campaign)} == {"e1"}
    assert len(campaign_rating_records(campaign=campaign, include_excluded_raters=True)) == 6
    assert campaign_rating_records(campaign=campaign, exclude_raters=["e1"]) == []
    comparison_gold_mark(comparison=campaign.comparisons.filter(gold_uploaded=False).first(), answer="a")
    assert len(campaign_rating_records(campaign=campaign, exclude_gold=True)) == 2
    assert sum(r.is_gold for r in campaign_rating_records(campaign=campaign)) == 1


def test_gold_answers_reach_the_report_as_each_raters_gold_accuracy(campaign_factory, make_rater):
    r1, r2 = make_rater("g1"), make_rater("g2")
    campaign = campaign_factory(name="gold-acc", n_prompts=2, ratings_per_comparison=2, raters=[r1, r2])
    rate(campaign, r1, "left")
    rate(campaign, r2, "right")
    first = campaign.comparisons.order_by("pk").first()
    comparison_gold_mark(
        comparison=first, answer=first.system_on_left
    )  # the left response was the right answer
    records = campaign_rating_records(campaign=campaign)
    assert {r.gold_choice for r in records if r.is_gold} == {first.system_on_left}
    raters = report_build(records=records)["raters"]
    accuracy = {row["rater"]: row["gold_accuracy"] for row in raters}
    assert accuracy == {"g1": 1.0, "g2": 0.0}
