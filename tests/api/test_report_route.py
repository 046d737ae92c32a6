"""The API's report is the report of the campaign's columns: it reads no answer texts."""

from __future__ import annotations

import json

import pytest

from reports.campaign_report import campaign_report_source
from reports.sources import report_of
from tests.factories import make_campaign, rate


def test_the_api_report_reads_no_texts_and_gives_the_report_of_the_texts(
    api_client, rater, monkeypatch
) -> None:
    campaign = make_campaign(name="camp", n_prompts=4, raters=[rater], open_=False)
    assert api_client.post(f"/api/v1/campaigns/{campaign.pk}/open").json()["status"] == "open"
    rate(campaign, rater, "left")
    expected = report_of(source=campaign_report_source(campaign=campaign))  # the records with their texts

    def texts(**kwargs: object) -> None:
        pytest.fail("the report route read the answers' texts")

    monkeypatch.setattr("reports.campaign_report.campaign_rating_records", texts)
    report = api_client.get(f"/api/v1/campaigns/{campaign.pk}/report").json()
    assert json.dumps(report, sort_keys=True) == json.dumps(expected, sort_keys=True)
