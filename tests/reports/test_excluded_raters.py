# mypy: disable-error-code="union-attr,index,arg-type"
"""One click excludes a flagged rater; the report then says who was excluded and why and leaves them out."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from analysis.quality_flags import ONE_SIDED, TOO_FAST
from annotate.models import Comparison, RaterExclusion
from tests.factories import rate_by

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(campaign_factory, make_rater):
    fast, left, normal = make_rater("x-fast"), make_rater("x-left"), make_rater("x-normal")
    campaign = campaign_factory(
        name="excl", n_prompts=22, ratings_per_comparison=3, overlap=1.0, raters=[fast, left, normal]
    )
    rate_by(campaign, fast, lambda item, n: ("left", "right")[n % 2], seconds=1.0)
    rate_by(campaign, left, lambda item, n: "left")
    rate_by(campaign, normal, lambda item, n: ("left", "right", "tie")[n % 3])
    return campaign, {"fast": fast, "left": left, "normal": normal}


def report_json(tmp_path: Path, name: str = "excl") -> dict:
    out = tmp_path / "report.json"
    call_command("report", "--campaign", name, "--format", "json", "--out", str(out))
    return json.loads(out.read_text())


def test_the_page_prefills_each_flagged_raters_reason_and_the_post_excludes_with_it(
    flagged, researcher_client: Client, tmp_path: Path
):
    campaign, raters = flagged
    page = researcher_client.get(f"/campaigns/{campaign.pk}/")
    rows = {r.username: r for r in page.context["raters"]}
    reason = rows["x-left"].exclusion_reason
    assert reason.startswith("One-sided: left in 22 of 22 decisive votes")
    assert rows["x-normal"].exclusion_reason == ""
    html = page.content.decode()
    assert f'value="{escape(reason)}"' in html
    assert 'data-flag="one_sided"' in html and 'data-flag="too_fast"' in html

    before = report_json(tmp_path)
    assert before["excluded_raters"] == []
    assert {row["rater"] for row in before["quality_flags"]} == {"x-fast", "x-left"}

    response = researcher_client.post(
        f"/campaigns/{campaign.pk}/raters",
        {"user": raters["left"].pk, "action": "exclude", "reason": reason},
    )
    assert response.status_code == 302
    exclusion = RaterExclusion.objects.get(campaign=campaign, rater=raters["left"])
    assert exclusion.reason == reason

    after = report_json(tmp_path)
    assert after["excluded_raters"] == [
        {"rater": "x-left", "reason": reason, "excluded_at": exclusion.created.isoformat()}
    ]
    datetime.fromisoformat(after["excluded_raters"][0]["excluded_at"])
    assert "x-left" not in {row["rater"] for row in after["raters"]}
    assert after["summary"]["ratings"] == before["summary"]["ratings"] - 22
    assert after["overall"]["n"] == before["overall"]["n"] - 22
    flagged_after = {row["rater"]: row for row in after["quality_flags"]}
    assert flagged_after["x-left"]["excluded"] is True
    assert [f["flag"] for f in flagged_after["x-left"]["flags"]] == [ONE_SIDED]
    assert [f["flag"] for f in flagged_after["x-fast"]["flags"]] == [TOO_FAST]
    # The contract keys stay.
    for key in (
        "baseline",
        "candidate",
        "overall",
        "by_category",
        "by_setting",
        "agreement",
        "position_bias",
        "raters",
        "systems",
    ):
        assert key in after

    # Unexclude stays possible, and the report lists nobody again.
    researcher_client.post(
        f"/campaigns/{campaign.pk}/raters", {"user": raters["left"].pk, "action": "include"}
    )
    assert not RaterExclusion.objects.filter(campaign=campaign).exists()
    assert report_json(tmp_path)["excluded_raters"] == []


def test_the_html_report_and_the_web_report_show_who_was_excluded_and_why(
    flagged, researcher_client: Client, tmp_path: Path
):
    campaign, raters = flagged
    RaterExclusion.objects.create(campaign=campaign, rater=raters["fast"], reason="<b>too fast</b> & more")
    out = tmp_path / "report.html"
    call_command("report", "--campaign", "excl", "--format", "html", "--out", str(out))
    for html in (
        out.read_text(),
        researcher_client.get(f"/reports/campaigns/{campaign.pk}/").content.decode(),
    ):
        assert 'id="excluded-raters"' in html
        assert "&lt;b&gt;too fast&lt;/b&gt; &amp; more" in html and "<b>too fast</b>" not in html
        assert 'id="quality-flags"' in html and "One-sided" in html


def test_a_rater_cannot_exclude_and_a_get_changes_nothing(
    flagged, rater_client: Client, researcher_client: Client
):
    campaign, raters = flagged
    url = f"/campaigns/{campaign.pk}/raters"
    response = rater_client.post(url, {"user": raters["left"].pk, "action": "exclude", "reason": "r"})
    assert response.status_code in (302, 403)
    assert response.status_code == 403 or "/login" in response["Location"]
    assert researcher_client.get(url, {"user": raters["left"].pk, "action": "exclude"}).status_code == 405
    assert not RaterExclusion.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(flagged, researcher):
    campaign, raters = flagged
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)
    response = client.post(
        f"/campaigns/{campaign.pk}/raters", {"user": raters["left"].pk, "action": "exclude"}
    )
    assert response.status_code == 403
    assert not RaterExclusion.objects.exists()


def test_an_over_long_reason_is_refused_and_changes_nothing(flagged, researcher_client: Client):
    campaign, raters = flagged
    response = researcher_client.post(
        f"/campaigns/{campaign.pk}/raters",
        {"user": raters["left"].pk, "action": "exclude", "reason": "x" * 501},
        follow=True,
    )
    assert "at most 500 are kept" in response.content.decode()
    assert not RaterExclusion.objects.exists()


def test_a_ratings_file_report_has_an_empty_excluded_list(flagged, tmp_path: Path):
    ratings = tmp_path / "ratings.jsonl"
    call_command("report", "--campaign", "excl", "--format", "jsonl", "--out", str(ratings))
    out = tmp_path / "file.json"
    call_command("report", "--ratings", str(ratings), "--format", "json", "--out", str(out))
    report = json.loads(out.read_text())
    assert report["excluded_raters"] == [] and "quality_flags" not in report


def test_the_campaign_page_query_count_does_not_grow_with_raters(
    campaign_factory, make_rater, researcher_client: Client, django_assert_max_num_queries
):
    def campaign_with(n_raters: int, name: str):
        raters = [make_rater(f"{name}-{i}") for i in range(n_raters)]
        campaign = campaign_factory(
            name=name, n_prompts=6, ratings_per_comparison=n_raters, overlap=1.0, raters=raters
        )
        for i, rater in enumerate(raters):

            def choose(item: Comparison, n: int, i: int = i) -> str:
                return ("left", "right", "tie")[(n + i) % 3]

            rate_by(campaign, rater, choose, seconds=1.0 + i)
        RaterExclusion.objects.create(campaign=campaign, rater=raters[0], reason="r")
        return campaign

    small, large = campaign_with(2, "qa"), campaign_with(8, "qb")
    with CaptureQueriesContext(connection) as ctx:
        assert researcher_client.get(f"/campaigns/{small.pk}/").status_code == 200
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        page = researcher_client.get(f"/campaigns/{large.pk}/")
    assert len(page.context["raters"]) == 8
    assert any(r.flags for r in page.context["raters"]), "the 1-second rater is flagged"
