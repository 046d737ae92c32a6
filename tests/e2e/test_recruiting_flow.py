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
    page.wait_for_load_state()  # the practice page's key script is deferred
    page.keyboard.press("3")  # the rating page's keys: 3 is a tie
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


def test_prolific_entry_asks_first_resumes_ends_the_session_with_the_code_and_turns_latecomers_away(
    live_server, study, browser
):
    from playwright.sync_api import expect

    recruiting = steps.recruiting_of(study)
    recruiting.consent_text = ""
    recruiting.practice_items = 0
    recruiting.session_items = 2
    recruiting.completion_url = f"{live_server.url}/healthz?completed=1"
    recruiting.save()
    base = f"{live_server.url}/join/p/{recruiting.entry_token}/"
    entry = f"{base}?PROLIFIC_PID=60aa11bb22cc33dd44ee55ff&STUDY_ID=st1&SESSION_ID=se1"
    first = browser.new_page()
    first.set_default_timeout(15_000)
    first.goto(entry)
    # A plain GET only shows the start page: nobody is created or logged in yet.
    expect(first.locator("#session-size")).to_contain_text("2 items")
    assert ExternalRater.objects.count() == 0
    first.screenshot(path=str(ARTIFACTS / "recruit-7-crowd-start.png"), full_page=True)
    first.click("#start-study")
    expect(first).to_have_url(re.compile(rf"/rate/task/{study.pk}/$"))
    expect(first.locator("#progress-text")).to_have_text(re.compile(r"^0 rated, 2 left"))
    expect(first.locator("#left")).not_to_be_empty()
    first.keyboard.press("1")
    expect(first.locator("#progress-text")).to_have_text(re.compile(r"^1 rated, 1 left"))
    # Stopping early: a clear "return the study" page with the progress, not a loop back to rating.
    first.click("#stop-link")
    expect(first.locator("#finish")).to_have_attribute("data-kind", "unfinished")
    expect(first.locator("#session-progress")).to_contain_text("rated 1 item; 1 left in your session")
    first.screenshot(path=str(ARTIFACTS / "recruit-8-return-the-study.png"), full_page=True)
    first.close()
    # A second visit (a new browser context: no cookies) resumes the same rater and ends the session.
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(entry)
    page.click("#start-study")
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^1 rated"))
    expect(page.locator("#left")).not_to_be_empty()
    assert ExternalRater.objects.count() == 1
    page.keyboard.press("2")
    # The session is over after 2 ratings: the rating loop itself goes to the end page with the code.
    expect(page.locator("#completion-code")).to_have_text("CMPL-7731")
    page.screenshot(path=str(ARTIFACTS / "recruit-9-session-code.png"), full_page=True)
    page.wait_for_url(re.compile(r"/healthz\?completed=1"), timeout=12_000)
    rater = ExternalRater.objects.get()
    assert Rating.objects.filter(rater=rater.user).count() == 2
    # Someone else takes the last item; a latecomer is told the study is full, with no code.
    other = browser.new_context().new_page()
    other.set_default_timeout(15_000)
    other.goto(f"{base}?PROLIFIC_PID=70aa11bb22cc33dd44ee55ff&STUDY_ID=st1&SESSION_ID=se2")
    other.click("#start-study")
    expect(other.locator("#left")).not_to_be_empty()
    other.keyboard.press("1")
    other.click("#finish-link")  # nothing left before the session's end: the done card's link
    expect(other.locator("#completion-code")).to_have_text("CMPL-7731")
    late = browser.new_context().new_page()
    late.set_default_timeout(15_000)
    late.goto(f"{base}?PROLIFIC_PID=80aa11bb22cc33dd44ee55ff&STUDY_ID=st1&SESSION_ID=se3")
    expect(late.locator("h1")).to_have_text("This study is full")
    expect(late.locator("body")).not_to_contain_text("CMPL-7731")
    late.screenshot(path=str(ARTIFACTS / "recruit-10-study-full.png"), full_page=True)


def test_a_screened_out_participant_sees_only_that_they_did_not_qualify(live_server, study, browser):
    from playwright.sync_api import expect

    recruiting = steps.recruiting_of(study)
    recruiting.consent_text = ""
    recruiting.qualification_percent = 100
    recruiting.screened_out_code = "SCRN-1"
    recruiting.save()
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/join/p/{recruiting.entry_token}/?PROLIFIC_PID=90aa11bb22cc33dd44ee55ff")
    page.click("#start-study")
    expect(page.locator("#practice-note")).to_contain_text("qualification round")
    page.wait_for_load_state()  # the practice page's key script is deferred
    page.keyboard.press("4")  # both bad: wrong, and no feedback says so
    expect(page.locator("#finish")).to_have_attribute("data-kind", "screened_out")
    expect(page.locator("body")).not_to_contain_text("2 + 2 is 4")
    expect(page.locator("body")).not_to_contain_text("CMPL-7731")
    page.screenshot(path=str(ARTIFACTS / "recruit-11-screened-out.png"), full_page=True)


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
    expect(page.locator("#session-warning")).to_be_visible()  # crowd entry on, no session size
    expect(page.locator("#copy-entry-url")).to_be_visible()
    # The crowd URL stays inside its card.
    card = page.locator("#entry-url").evaluate("e => [e.scrollWidth, e.closest('.card').clientWidth]")
    assert card[0] <= card[1], card
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.click("form[data-confirm] button[type=submit]")  # Revoke, dismissed: nothing revoked
    assert not study.invites.get().revoked
    page.screenshot(path=str(ARTIFACTS / "recruit-0-researcher-page.png"), full_page=True)
