from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.test import Client
from django.urls import reverse

from analysis.columns import RatingColumns
from tests.factories import make_bare_campaign, make_records


@pytest.fixture
def campaign(db, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    records = make_records(prompts=20, per_item=2, with_texts=True)
    records[0] = replace(records[0], prompt_text="<script>alert(1)</script>")

    def fake(*, campaign, exclude_raters=(), exclude_gold=False, include_excluded_raters=False):  # type: ignore[no-untyped-def]
        return [r for r in records if r.rater not in exclude_raters]

    def fake_columns(*, campaign, include_excluded_raters=False, exclude_gold=False):  # type: ignore[no-untyped-def]
        return RatingColumns.from_records(records)  # the page's and the report's: filtered by the source

    monkeypatch.setattr("reports.campaign_report.campaign_rating_records", fake)
    monkeypatch.setattr("reports.campaign_report.campaign_report_columns", fake_columns)
    return make_bare_campaign(name="flan-vs-base", systems=["base", "cand"])


def test_index_lists_campaigns_with_links(researcher_client: Client, campaign) -> None:  # type: ignore[no-untyped-def]
    response = researcher_client.get(reverse("reports:index"))
    assert response.status_code == 200
    assert reverse("reports:campaign", args=[campaign.pk]).encode() in response.content


def test_raters_cannot_see_reports(rater_client: Client, campaign) -> None:  # type: ignore[no-untyped-def]
    assert rater_client.get(reverse("reports:index")).status_code == 403
    assert rater_client.get(reverse("reports:campaign", args=[campaign.pk])).status_code == 403
    assert (
        rater_client.get(reverse("reports:download", args=[campaign.pk]) + "?format=json").status_code == 403
    )


def test_campaign_page_shows_tables_figures_filters_and_downloads(
    researcher_client: Client, campaign
) -> None:  # type: ignore[no-untyped-def]
    url = reverse("reports:campaign", args=[campaign.pk])
    response = researcher_client.get(url, {"baseline": "cand", "exclude_rater": "r1"})
    html = response.content.decode()
    assert response.status_code == 200
    # Figures are JSON drawn by the page's own static script, never inline code (the CSP runs none).
    assert "data-plot-figure" in html and "core/plots.js" in html and "Plotly.newPlot" not in html
    assert "Methods" in html
    assert 'value="r1" checked' in html
    for fmt in ("json", "csv", "jsonl", "html", "dpo"):
        assert f"format={fmt}" in html
    assert "exclude_rater=r1" in html and "baseline=cand" in html


def test_downloads_apply_the_same_filters(researcher_client: Client, campaign) -> None:  # type: ignore[no-untyped-def]
    url = reverse("reports:download", args=[campaign.pk])
    response = researcher_client.get(url, {"format": "json", "baseline": "cand", "exclude_rater": "r1"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    report = json.loads(response.content)
    assert report["baseline"] == "cand" and "r1" not in [row["rater"] for row in report["raters"]]
    dpo = researcher_client.get(url, {"format": "dpo"})
    assert dpo.status_code == 200 and b"<script>alert(1)</script>" in dpo.content  # data, served as JSONL
    assert dpo["Content-Type"] == "application/x-ndjson"
    assert researcher_client.get(url, {"format": "pdf"}).status_code == 400


def test_plotly_is_served_locally(researcher_client: Client) -> None:
    response = researcher_client.get(reverse("plotly_js"))
    assert response.status_code == 200 and b"plotly.js" in response.content[:2000]
