"""The campaign page in headless Chromium: what it shows a researcher and the steps it asks to confirm."""

from __future__ import annotations

import os

import pytest

from annotate.models import Campaign
from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_campaign, rate

pytestmark = [pytest.mark.e2e, needs_chromium]

# Screenshots for the before/after note: E2E_SHOTS=before names them as taken on the unchanged page.
SHOTS = os.environ.get("E2E_SHOTS", "after")


@pytest.fixture
def campaign_page(transactional_db, logged_in_page):
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    raters = [user_create(username=f"e2e-rater-{i}", role="rater") for i in range(2)]
    campaign = make_campaign(name="e2e-campaign", n_prompts=6, raters=raters, min_seconds=0)
    rate(campaign, raters[0], "left", n=4)
    page = logged_in_page(f"/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1")
    return campaign, page


def test_a_campaign_without_stop_when_settled_shows_no_anytime_valid_card(campaign_page):
    campaign, page = campaign_page
    page.screenshot(path=str(ARTIFACTS / f"{SHOTS}-campaign-page.png"), full_page=True)
    assert not campaign.stop_when_settled
    assert page.locator("#sequential").count() == 0


@pytest.mark.parametrize(
    ("button", "changed"),
    [
        ("Mark closed", lambda c: Campaign.objects.get(pk=c.pk).status == Campaign.Status.CLOSED),
        ("Remove from pool", lambda c: Campaign.objects.get(pk=c.pk).raters.count() < 2),
    ],
)
def test_mark_closed_and_remove_from_pool_ask_first_and_a_no_changes_nothing(campaign_page, button, changed):
    campaign, page = campaign_page
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name=button).first.click()
    page.wait_for_timeout(500)
    assert asked, f"{button} did not ask for confirmation"
    assert not changed(campaign)
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    with page.expect_navigation():
        page.get_by_role("button", name=button).first.click()
    assert changed(campaign)


def test_a_campaign_whose_summary_is_slow_shows_the_last_one_with_its_time(campaign_page):
    from hub.models import CampaignSummary

    campaign, page = campaign_page
    # As at a million comparisons: the last computation took seconds, and a rating came in since.
    CampaignSummary.objects.filter(campaign=campaign).update(compute_seconds=9.0)
    rate(campaign, campaign.raters.order_by("username").last(), "right", n=1)
    page.reload()
    notice = page.locator("#summary-as-of")
    assert notice.is_visible()
    assert "a worker is computing them again" in notice.inner_text()
    assert page.locator("#progress-done").inner_text() == "4"  # the stored figures, not yet the fifth
    page.screenshot(path=str(ARTIFACTS / f"{SHOTS}-campaign-page-stale.png"), full_page=True)


def test_a_large_campaign_without_figures_yet_says_so_and_shows_them_once_the_worker_is_done(
    transactional_db, logged_in_page, monkeypatch
):
    from hub import campaign_page, views
    from hub.campaign_summary import campaign_summary_refresh

    # As at a million comparisons: a worker computes the first summary; the page reloads until it is kept.
    monkeypatch.setattr(campaign_page, "PENDING_ABOVE", 1)
    monkeypatch.setattr(views, "PENDING_RELOAD", 1)
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    raters = [user_create(username=f"e2e-rater-{i}", role="rater") for i in range(2)]
    campaign = make_campaign(name="e2e-large", n_prompts=6, raters=raters, min_seconds=0)
    rate(campaign, raters[0], "left", n=3)
    page = logged_in_page(f"/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1")
    notice = page.locator("#summary-pending")
    assert notice.is_visible() and "being computed on a worker" in notice.inner_text()
    assert page.locator("#compute-now").is_visible()
    page.screenshot(path=str(ARTIFACTS / f"{SHOTS}-campaign-page-pending.png"), full_page=True)
    campaign_summary_refresh(campaign_id=campaign.pk)  # what the worker runs
    page.wait_for_selector("#progress-done", timeout=10_000)  # the page reloaded on its own
    assert page.locator("#progress-done").inner_text() == "3"
    assert page.locator("#summary-pending").count() == 0
