"""A campaign's page while its build job runs, in headless Chromium: the line, kept live by its poll."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotate import build_jobs
from annotate.build_models import CampaignBuild
from annotate.build_tasks import campaign_build_task
from annotate.services import campaign_create
from core.models import JobStatus
from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

pytestmark = [pytest.mark.e2e, needs_chromium]


def test_the_building_line_shows_the_count_and_follows_the_job_without_a_reload(
    transactional_db, logged_in_page, monkeypatch
):
    monkeypatch.setattr(campaign_build_task, "delay", lambda *args: None)  # no worker here: the test moves it
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    eval_set = make_eval_set(name="e2e-big", n_prompts=4)
    for name in ("sys-a", "sys-b"):
        make_system(name, eval_set)
    campaign = campaign_create(
        name="e2e-building", eval_set=eval_set, systems=["sys-a", "sys-b"], build=False
    )
    build = build_jobs.campaign_build_start(campaign=campaign, seed=1)
    builds = CampaignBuild.objects.filter(pk=build.pk)
    builds.update(status=JobStatus.RUNNING, done=430_000, total=1_000_000, heartbeat=timezone.now())

    page = logged_in_page(f"/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1")
    line = page.locator("#build-line")
    assert line.inner_text() == "Building: 430,000 of 1,000,000 comparisons"
    page.screenshot(path=str(ARTIFACTS / "campaign-building.png"), full_page=True)
    assert page.get_by_role("button", name="Mark open").count() == 0

    builds.update(done=440_000, heartbeat=timezone.now())
    # The card polls every 3 seconds (static/generation/progress.js); the page is not reloaded.
    expect(line).to_have_text("Building: 440,000 of 1,000,000 comparisons", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "campaign-building-later.png"), full_page=True)
