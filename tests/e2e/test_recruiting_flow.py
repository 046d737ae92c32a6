"""A person's whole way through a study in Chromium: invite, signup, consent, practice, rating, completion code;
and a Prolific-style entry that makes a rater without a password, resumes it, and ends on the completion redirect."""

from __future__ import annotations

import json
import re

import pytest

from annotate.models import Campaign, Rating
from annotate.recruiting import links, steps
from annotate.recruiting_models import ExternalRater, PracticeAnswer
from annotate.services import campaign_create, campaign_status_set
from tests.e2e.conftest import ARTIFACTS, BROWSER_ARGS, CHROMIUM, needs_chromium
from tests.factories import make_eval_set, make_system

pytestmark = [pytest.mark.e2e, needs_chromium]
PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def study(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    eval_set = make_eval_set(name="study-set", n_prompts=3)
    make_system("sys-one", eval_set)
    make_system("sys-two", eval_set)
    campaign = campaign_create(name="study", eval_set=eval_set, systems=["sys-one", "sys-two"], min_seconds=0)
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    recruiting = steps.recruiting_of(campaign)
    recruiting.consent_text = "# Consent\n\nYou will rate answers. Your data is **pseudonymous**."
    recruiting.practice_items = 1
    recruiting.completion_code = "CMPL-7731"
    recruiting.accept_external = True
    recruiting.save()
    line = {"prompt": "What is 2 + 2?", "text_a": "4", "text_b": "5", "answer": "a",
            "explanation": "2 + 2 is 4, so the answer saying **4** is right."}  # fmt: skip
    steps.practice_upload(campaign=campaign, data=json.dumps(line).encode(), seed=3)
    return campaign


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _rate_all(page, expect) -> None:
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated"))
    for n in range(1, 4):
        expect(page.locator("#left")).not_to_be_empty()
        page.keyboard.press("1")
        expect(progress).to_have_text(re.compile(rf"^{n} rated"))
    expect(page.locator("#done")).to_be_visible()


def test_invite_signup_consent_practice_rate_completion_code(live_server, study, browser):
    from playwright.sync_api import expect

    invite = links.invite_create(campaign=study, max_uses=5)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/join/i/{invite.token}/")
    page.fill("#id_username", "crowd-person")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.screenshot(path=str(ARTIFACTS / "recruit-1-invite-signup.png"), full_page=True)
    page.click("#signup button[type=submit]")
    expect(page.locator("#consent-text")).to_contain_text("pseudonymous")
    page.screenshot(path=str(ARTIFACTS / "recruit-2-consent.png"), full_page=True)
    page.click("#accept")
    expect(page.locator("#practice-number")).to_have_text("1")
    page.screenshot(path=str(ARTIFACTS / "recruit-3-practice.png"), full_page=True)
    page.click("button[data-side=tie]")
    expect(page.locator("#expected")).to_have_text(re.compile("Left is better|Right is better"))
    expect(page.locator("#explanation")).to_contain_text("2 + 2 is 4")
    page.screenshot(path=str(ARTIFACTS / "recruit-4-feedback.png"), full_page=True)
    page.click("#continue")
    expect(page).to_have_url(re.compile(rf"/rate/task/{study.pk}/$"))
    _rate_all(page, expect)
    page.screenshot(path=str(ARTIFACTS / "recruit-5-rated.png"), full_page=True)
    page.click("#finish-link")
    expect(page.locator("#completion-code")).to_have_text("CMPL-7731")
    page.screenshot(path=str(ARTIFACTS / "recruit-6-completion-code.png"), full_page=True)
    assert Rating.objects.filter(rater__username="crowd-person").count() == 3
    assert PracticeAnswer.objects.filter(rater__username="crowd-person").count() == 1


def test_prolific_entry_resumes_and_redirects_on_completion(live_server, study, browser):
    from playwright.sync_api import expect

    recruiting = steps.recruiting_of(study)
    recruiting.consent_text = ""
    recruiting.practice_items = 0
    recruiting.completion_url = f"{live_server.url}/healthz?completed=1"
    recruiting.save()
    entry = f"{live_server.url}/join/p/{recruiting.entry_token}/?PROLIFIC_PID=60aa11bb22cc33dd44ee55ff&STUDY_ID=st1&SESSION_ID=se1"
    first = browser.new_page()
    first.set_default_timeout(15_000)
    first.goto(entry)
    expect(first).to_have_url(re.compile(rf"/rate/task/{study.pk}/$"))
    expect(first.locator("#left")).not_to_be_empty()
    first.keyboard.press("1")
    expect(first.locator("#progress-text")).to_have_text(re.compile(r"^1 rated"))
    first.close()
    # A second visit (a new browser context: no cookies) resumes the same rater.
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(entry)
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^1 rated"))
    expect(page.locator("#left")).not_to_be_empty()
    assert ExternalRater.objects.count() == 1
    for n in (2, 3):
        page.keyboard.press("2")
        expect(page.locator("#progress-text")).to_have_text(re.compile(rf"^{n} rated"))
    page.click("#finish-link")
    expect(page.locator("#completion-code")).to_have_text("CMPL-7731")
    page.screenshot(path=str(ARTIFACTS / "recruit-7-prolific-finish.png"), full_page=True)
    page.wait_for_url(re.compile(r"/healthz\?completed=1"), timeout=12_000)
    rater = ExternalRater.objects.get()
    assert Rating.objects.filter(rater=rater.user).count() == 3


def test_researcher_makes_an_invite_link_on_the_recruiting_page(logged_in_page, study):
    from playwright.sync_api import expect

    from core.users import user_create

    user_create(username="e2e-researcher", role="researcher", password=PASSWORD)
    page = logged_in_page(f"/campaigns/{study.pk}/", "e2e-researcher", PASSWORD)
    page.click("#recruiting-link")
    page.fill("#id_max_uses", "20")
    page.click("#make-invite")
    expect(page.locator("code.invite-url")).to_contain_text("/join/i/")
    expect(page.locator("#entry-url")).to_contain_text("PROLIFIC_PID={{%PROLIFIC_PID%}}")
    page.screenshot(path=str(ARTIFACTS / "recruit-0-researcher-page.png"), full_page=True)
