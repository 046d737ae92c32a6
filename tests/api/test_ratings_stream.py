"""The API's ratings endpoint streams the report page's download: the same chunks, the same bytes."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_campaign
from tests.reports.test_streamed_downloads import _download, _rich_campaign

pytestmark = pytest.mark.django_db


def test_the_api_sends_the_report_pages_ratings_download(
    researcher_client: Client, api_client, make_rater
) -> None:  # type: ignore[no-untyped-def]
    campaign = _rich_campaign(make_rater)
    for fmt in ("csv", "jsonl"):
        for query in ({}, {"exclude_gold": "1"}):
            page, _ = _download(researcher_client, campaign, format=fmt, **query)
            api = api_client.get(f"/api/v1/campaigns/{campaign.pk}/ratings", {"format": fmt, **query})
            assert api.streaming and b"".join(api.streaming_content) == page


def test_an_empty_campaigns_csv_is_the_header_alone_from_the_api_as_from_the_page(
    researcher_client: Client, api_client
) -> None:  # type: ignore[no-untyped-def]
    campaign = make_campaign(name="empty")
    page, _ = _download(researcher_client, campaign, format="csv")
    api = b"".join(
        api_client.get(f"/api/v1/campaigns/{campaign.pk}/ratings", {"format": "csv"}).streaming_content
    )
    assert (
        api == page and page.startswith(b"campaign,") and page.endswith(b",turn\n") and page.count(b"\n") == 1
    )
