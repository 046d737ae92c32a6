"""The campaign page's stop-when-settled part in headless Chromium, fed real preference votes; a screenshot."""

from __future__ import annotations

import pytest

from annotate.models import Campaign
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import login, make_eval_set, make_system, prefer, real_peer_votes, run_rater

pytestmark = [pytest.mark.e2e, needs_chromium]


def test_the_campaign_page_shows_the_running_interval_why_it_stopped_the_plan_the_cap_and_the_margin(
    logged_in_page, transactional_db, settle_eagerly, settings
):
    from playwright.sync_api import expect

    votes = real_peer_votes()
    if votes is None:
        pytest.skip("../shared/peer-ratings is absent")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    rater = user_create(username="seq-e2e-rater", role="rater")
    eval_set = make_eval_set(name="seq-e2e", n_prompts=720)
    make_system("alpaca-7b", eval_set)
    make_system("text_davinci_003", eval_set)
    campaign = campaign_create(
        name="seq-e2e", eval_set=eval_set, systems=["alpaca-7b", "text_davinci_003"], raters=[rater],
        stop_when_settled=True, precision=0.3, seed=2, max_ratings=500, equivalence_margin=0.05, min_effect=0.6,
    )  # fmt: skip
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    stream = iter(votes)  # AlpacaEval's real verdicts, in order: 1 when text_davinci_003 won
    run_rater(login(rater), campaign, lambda c: prefer(c, "b" if next(stream) else "a"))
    campaign.refresh_from_db()
    assert campaign.settled_at is not None
    page = logged_in_page(f"/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1", 1200)
    section = page.locator("#sequential")
    expect(section).to_be_visible()
    expect(page.locator("#sequential-settled")).to_contain_text(f"after {campaign.settled_after} ratings")
    # The plan, the cap and the margin (issue 28): the fixed design planned at 0.6 needs 199 votes.
    expect(page.locator("#sequential-stops")).to_contain_text("inside 0.5 ± 0.05")
    expect(page.locator("#sequential-stops")).to_contain_text("at the cap of 500 ratings")
    plan = page.locator("#sequential .plan").first
    expect(plan).to_contain_text("minimum preference worth detecting 0.6")
    expect(plan).to_contain_text("A fixed design needs 199 decisive votes")
    expect(plan).to_contain_text(f"has used {campaign.settled_after}")
    expect(page.locator("#setup-plan")).to_contain_text("cap on ratings: 500")
    expect(page.locator("#setup-plan")).to_contain_text("equivalence margin: ± 0.05")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "campaign-sequential.png"))
    page.locator("#setup").screenshot(path=str(ARTIFACTS / "campaign-setup-plan.png"))
