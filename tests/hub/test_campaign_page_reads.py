# mypy: disable-error-code="arg-type"
"""The campaign page's summary reads the campaign's ratings once, whatever it shows of them."""

from __future__ import annotations

import pytest

from annotate.services import campaign_rater_exclude
from hub.campaign_page import campaign_page_summary
from hub.models import CampaignSummary
from reports import campaign_stats
from tests.factories import rate

pytestmark = pytest.mark.django_db


def test_the_summary_reads_the_ratings_once_with_an_excluded_rater(campaign_factory, make_rater, monkeypatch):
    raters = [make_rater("once-one"), make_rater("once-two"), make_rater("once-three")]
    campaign = campaign_factory(name="once", n_prompts=6, ratings_per_comparison=2, raters=raters)
    for rater in raters:
        rate(campaign, rater, "left", n=3)
    campaign_rater_exclude(campaign=campaign, user=raters[2], reason="too fast")
    reads = []
    read = campaign_stats.campaign_report_columns

    def counted(**kwargs: object):  # type: ignore[no-untyped-def]
        reads.append(kwargs)
        return read(**kwargs)

    monkeypatch.setattr(campaign_stats, "campaign_report_columns", counted)
    CampaignSummary.objects.filter(campaign=campaign).delete()
    summary = campaign_page_summary(campaign=campaign)
    assert summary is not None  # a small campaign's is computed in the request
    # Raters with their figures (the excluded one's as if included again), and the estimates without gold.
    assert len(reads) == 1 and reads[0]["include_excluded_raters"] is True
    figures = {rater.username: rater.figures for rater in summary["raters"]}
    assert figures["once-three"] is not None and figures["once-three"]["count"] == 3
    assert summary["estimates"] and summary["estimates"][0]["n"] == 6
