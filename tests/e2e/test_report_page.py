"""The campaign report in headless Chromium: figures draw, tables fill; a screenshot for the README."""

from __future__ import annotations

import random

import pytest

from annotate.assignment import item_next, rating_submit
from annotate.models import Campaign
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def rated_campaign(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    raters = [user_create(username=f"rater-{i}", role="rater") for i in range(3)]
    eval_set = make_eval_set(name="report-set", n_prompts=24)
    make_system("base", eval_set)
    make_system("flan", eval_set)
    campaign = campaign_create(
        name="report-e2e", eval_set=eval_set, systems=["base", "flan"], raters=raters, overlap=0.5, seed=1
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    rng = random.Random(7)
    for rater in raters:
        while (item := item_next(campaign=campaign, rater=rater)) is not None:
            # The candidate ("flan", system b) wins about three times in four among decisive votes.
            choice = rng.choices(["b", "a", "tie", "both_bad"], weights=[6, 2, 1, 1])[0]
            side = (
                choice
                if choice in ("tie", "both_bad")
                else ("left" if item.system_on_left == choice else "right")
            )
            rating_submit(
                campaign=campaign, rater=rater, token=item.token, side=side, seconds=rng.uniform(5, 40)
            )
    return campaign


def test_the_report_page_draws_its_figures_and_tables(logged_in_page, rated_campaign):
    from playwright.sync_api import expect

    page = logged_in_page(
        f"/reports/campaigns/{rated_campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000
    )
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    assert page.locator(".js-plotly-plot").count() >= 3
    expect(page.locator("table").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "report-page.png"), full_page=False)


def test_the_report_page_downloads_the_ratings_as_parquet(logged_in_page, rated_campaign, tmp_path):
    import pyarrow.parquet as pq
    from playwright.sync_api import expect

    page = logged_in_page(
        f"/reports/campaigns/{rated_campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000
    )
    link = page.locator("nav.downloads a", has_text="parquet")
    expect(link).to_be_visible()
    page.locator("nav.downloads").screenshot(path=str(ARTIFACTS / "report-downloads.png"))
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "report-e2e-report.parquet"
    saved = tmp_path / "ratings.parquet"
    download.value.save_as(saved)
    table = pq.read_table(saved)
    assert table.num_rows == rated_campaign.ratings.count() and set(table.column("rater").to_pylist()) == {
        "rater-001",
        "rater-002",
        "rater-003",
    }
