"""The rating page in headless Chromium: log in, rate three items by keyboard, undo one, check progress."""

from __future__ import annotations

import os
import re

import pytest

from annotate.models import Campaign, Rating
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def rating_setup(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rater = user_create(username="e2e-rater", role="rater", password="e2e-password-1")
    eval_set = make_eval_set(name="e2e-set", n_prompts=6)
    code = "Here is code:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\n<script>window.pwned = 1</script>"
    make_system("e2e-left", eval_set, text=lambda p: f"**Answer** for {p.uid}.\n\n{code}")
    make_system(
        "e2e-right", eval_set, text=lambda p: f"A plain reply to {p.uid}, with a [link](javascript:alert(1))."
    )
    campaign = campaign_create(
        name="e2e", eval_set=eval_set, systems=["e2e-left", "e2e-right"], raters=[rater], min_seconds=0
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign, rater


def test_a_rater_rates_three_items_with_the_keyboard_and_undoes_one(logged_in_page, rating_setup):
    from playwright.sync_api import expect

    campaign, rater = rating_setup
    page = logged_in_page(f"/rate/task/{campaign.pk}/", "e2e-rater", "e2e-password-1")
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated, 6 left$"))
    expect(page.locator("#left")).not_to_be_empty()

    seen = []
    for key, expected in (("1", 1), ("ArrowRight", 2), ("4", 3)):
        token_before = page.locator("#left").inner_html() + page.locator("#right").inner_html()
        seen.append(token_before)
        page.keyboard.press(key)
        expect(progress).to_have_text(re.compile(rf"^{expected} rated"))
        assert page.locator("#left").inner_html() + page.locator("#right").inner_html() != token_before
    assert Rating.objects.filter(rater=rater).count() == 3

    expect(page.locator("#undo")).to_be_enabled()
    page.keyboard.press("u")
    expect(progress).to_have_text(re.compile(r"^2 rated"))
    # The undone item is back on screen to be rated again.
    assert page.locator("#left").inner_html() + page.locator("#right").inner_html() == seen[-1]
    assert Rating.objects.filter(rater=rater).count() == 2
    assert float(page.locator("#progress-bar").get_attribute("value") or "nan") > 0

    # Untrusted text stayed text: no script ran, no javascript: link exists.
    assert page.evaluate("window.pwned") is None
    assert page.locator("a[href^='javascript']").count() == 0
    expect(page.locator("#item pre code").first).to_contain_text("return a + b")

    page.keyboard.press("3")
    expect(progress).to_have_text(re.compile(r"^3 rated"))
    page.screenshot(path=str(ARTIFACTS / "rating-page.png"), full_page=True)
    choices = sorted(Rating.objects.filter(rater=rater).values_list("side", flat=True))
    assert choices == ["left", "right", "tie"]


# Screenshots for the before/after note: E2E_SHOTS=before names them as taken on the unchanged page.
SHOTS = os.environ.get("E2E_SHOTS", "after")
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}


def test_on_a_390px_touch_phone_the_choices_are_one_short_row_with_no_key_hints(logged_in_page, rating_setup):
    from playwright.sync_api import expect

    campaign, rater = rating_setup
    page = logged_in_page(f"/rate/task/{campaign.pk}/", "e2e-rater", "e2e-password-1", **PHONE)
    expect(page.locator("#left")).not_to_be_empty()
    page.screenshot(path=str(ARTIFACTS / f"{SHOTS}-rating-phone.png"))
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    choices = [b.bounding_box() for b in page.locator("button.choice").all()]
    assert len({round(box["y"]) for box in choices}) == 1, "the four choices wrap onto several rows"
    # What stays on screen while reading: the choices' row, not three rows of controls.
    pinned = page.evaluate(
        """() => Array.from(document.querySelectorAll('#decision, #decision *')).filter((el) => {
             const style = getComputedStyle(el);
             return style.position === 'fixed' || style.position === 'sticky';
           }).map((el) => el.getBoundingClientRect().height)"""
    )
    assert pinned and max(pinned) <= 64, f"the pinned bar is {pinned} px tall"
    # No keyboard on a touch screen: no key hints anywhere on the page.
    assert page.locator("#rater kbd:visible").count() == 0
    expect(page.locator("#keys")).to_be_hidden()
    # A tap on a choice rates.
    page.locator("button.choice[data-side=tie]").tap()
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^1 rated"))
    assert Rating.objects.filter(rater=rater).count() == 1


def test_typing_in_the_comment_never_chooses_and_escape_leaves_it_for_the_keys(logged_in_page, rating_setup):
    from playwright.sync_api import expect

    campaign, rater = rating_setup
    page = logged_in_page(f"/rate/task/{campaign.pk}/", "e2e-rater", "e2e-password-1")
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated"))
    page.locator("#comment").click()
    page.keyboard.type("1 is clearer, 2 rambles")
    expect(page.locator("#comment")).to_have_value("1 is clearer, 2 rambles")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") != "comment"
    page.keyboard.press("1")
    expect(progress).to_have_text(re.compile(r"^1 rated"))
    assert Rating.objects.get(rater=rater).comment == "1 is clearer, 2 rambles"
