"""The rating page on real model answers (../shared/real-outputs), measured in headless Chromium.

At 1400x900 and 390x844: no horizontal page scroll, the two answers equally wide, Markdown tables
as tables, the choice bar in view in the middle of a long answer, Space scrolls without rating,
and neither Enter nor Space after a mouse click rates the next item.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from annotate.models import Campaign, Rating
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from eval_sets.models import Prompt
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
# AlpacaEval rows whose answers hold a wide Markdown table (176), wide code blocks (252) and the
# longest answers of the set (284: 6,639 characters from GPT-4 Turbo).
ROWS = (176, 252, 284)

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real model outputs in {REAL}"),
]


@pytest.fixture
def real_campaign(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rater = user_create(username="real-rater", role="rater", password="e2e-password-1")
    outputs = {
        name: json.loads((REAL / f"{name}.json").read_text())
        for name in ("gpt4_1106_preview", "Meta-Llama-3-8B-Instruct")
    }
    first = outputs["gpt4_1106_preview"]
    eval_set = make_eval_set(name="real", n_prompts=len(ROWS), texts=[first[i]["instruction"] for i in ROWS])
    for name, rows in outputs.items():

        def text(p: Prompt, rows: list[dict[str, str]] = rows) -> str:
            return rows[ROWS[p.position]]["output"]

        make_system(name, eval_set, text=text)
    campaign = campaign_create(
        name="real-e2e", eval_set=eval_set, systems=list(outputs), raters=[rater], min_seconds=0
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign, rater


def measure(page):
    return page.evaluate(
        """() => {
        const doc = document.documentElement;
        const l = document.getElementById('left').closest('section').getBoundingClientRect();
        const r = document.getElementById('right').closest('section').getBoundingClientRect();
        return {scroll: doc.scrollWidth - doc.clientWidth, left: l.width, right: r.width,
                tables: document.querySelectorAll('#item table').length};
    }"""
    )


def middle_of_longer_answer_then_bar(page):
    """Scroll so the middle of the longer answer is on screen; return the choice bar's box."""
    return page.evaluate(
        """() => {
        const boxes = ['left', 'right'].map((id) => document.getElementById(id));
        const longer = boxes[0].offsetHeight >= boxes[1].offsetHeight ? boxes[0] : boxes[1];
        const rect = longer.getBoundingClientRect();
        window.scrollTo(0, window.scrollY + rect.top + rect.height / 2 - window.innerHeight / 2);
        const mid = longer.getBoundingClientRect().top + longer.getBoundingClientRect().height / 2;
        const bar = document.getElementById('choices').getBoundingClientRect();
        return {mid: mid, top: bar.top, bottom: bar.bottom, vh: window.innerHeight, tall: rect.height};
    }"""
    )


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_real_answers_fit_and_the_keys_do_only_what_they_say(logged_in_page, real_campaign, width, height):
    from playwright.sync_api import expect

    campaign, rater = real_campaign
    page = logged_in_page(f"/rate/task/{campaign.pk}/", "real-rater", "e2e-password-1")
    page.set_viewport_size({"width": width, "height": height})
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated, 3 left$"))
    tables = 0
    for number in range(len(ROWS)):
        expect(page.locator("#left")).not_to_be_empty()
        page.wait_for_timeout(100)
        m = measure(page)
        assert m["scroll"] <= 0, f"page scrolls sideways by {m['scroll']} px at {width}"
        assert abs(m["left"] - m["right"]) <= 0.05 * max(m["left"], m["right"]), m
        tables += m["tables"]
        bar = middle_of_longer_answer_then_bar(page)
        assert 0 <= bar["mid"] <= bar["vh"] and bar["tall"] > bar["vh"] / 2, bar
        assert bar["top"] >= 0 and bar["bottom"] <= bar["vh"], f"choices out of view: {bar}"
        if number == 0:
            page.screenshot(path=str(ARTIFACTS / f"rating-real-{width}.png"))
        # Space scrolls the page and rates nothing.
        page.evaluate("window.scrollTo(0, 0)")
        page.keyboard.press("Space")
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") > 0
        assert Rating.objects.filter(rater=rater).count() == number
        # A mouse click rates this item; Enter and Space afterwards rate nothing more.
        page.locator("button.choice[data-side=tie]").click()
        expect(progress).to_have_text(re.compile(rf"^{number + 1} rated"))
        page.keyboard.press("Enter")
        page.keyboard.press("Space")
        page.wait_for_timeout(400)
        assert Rating.objects.filter(rater=rater).count() == number + 1
    assert tables >= 1, "no Markdown table was rendered as a <table>"
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#skip")).to_be_hidden()


def test_a_choice_before_the_minimum_reading_time_is_not_taken(logged_in_page, real_campaign):
    from playwright.sync_api import expect

    campaign, _rater = real_campaign
    Campaign.objects.filter(pk=campaign.pk).update(min_seconds=3)
    page = logged_in_page(f"/rate/task/{campaign.pk}/", "real-rater", "e2e-password-1")
    page.set_viewport_size({"width": 1400, "height": 900})
    expect(page.locator("#left")).not_to_be_empty()
    expect(page.locator("#guidelines")).to_have_attribute("open", "")  # first visit: shown open
    page.keyboard.press("1")
    expect(page.locator("#status")).to_contain_text("Not taken")
    assert not Rating.objects.exists()
    page.wait_for_timeout(3100)
    page.keyboard.press("1")
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^1 rated"))
    page.keyboard.press("g")
    expect(page.locator("#guidelines")).not_to_have_attribute("open", "")
    page.reload()
    expect(page.locator("#left")).not_to_be_empty()
    expect(page.locator("#guidelines")).not_to_have_attribute("open", "")  # later visits: one key away
    page.screenshot(path=str(ARTIFACTS / "rating-real-guidelines.png"), full_page=False)


def test_a_sampled_campaign_page_and_its_edit_page_on_real_answers(
    logged_in_page, transactional_db, settings
):
    """Issue 26.2 in Chromium: 30 of the 805 real instructions sampled, the setup card, an edit and its log."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="setup-researcher", role="researcher", password="e2e-password-1")
    rater = user_create(username="setup-rater", role="rater", password="e2e-password-1")
    outputs = {
        name: json.loads((REAL / f"{name}.json").read_text()) for name in ("gpt4_1106_preview", "alpaca-7b")
    }
    first = outputs["gpt4_1106_preview"]
    eval_set = make_eval_set(
        name="alpaca-805", n_prompts=len(first), texts=[row["instruction"] for row in first],
        categories=sorted({row["dataset"] for row in first}), settings=("zero_shot",),
    )  # fmt: skip
    for name, rows in outputs.items():

        def text(p: Prompt, rows: list[dict[str, str]] = rows) -> str:
            return rows[p.position]["output"]

        make_system(name, eval_set, text=text)
    campaign = campaign_create(
        name="sampled-e2e",
        eval_set=eval_set,
        systems=list(outputs),
        raters=[rater],
        sample=30,
        sample_seed=26,
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    assert campaign.comparisons.count() == 30

    page = logged_in_page(f"/campaigns/{campaign.pk}/", "setup-researcher", "e2e-password-1")
    page.wait_for_load_state()
    assert "a sample of 30 (seed 26" in page.inner_text("#sampling")
    page.screenshot(path=str(ARTIFACTS / "campaign-setup-card.png"), full_page=True)

    page.get_by_role("link", name="Edit settings").click()
    page.wait_for_load_state()
    page.fill("#id_quota_per_rater", "12")
    page.fill("#id_overlap", "0.2")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    page.get_by_text("Changed:").wait_for()
    logged = page.inner_text("#changes")
    assert "quota_per_rater" in logged and "overlap" in logged
    assert "instructions" not in logged, "the unchanged instructions (sent back with CRLF) are no change"

    # Once an item is served, lowering the ratings per comparison is refused, naming the field.
    from annotate.assignment import item_next

    item_next(campaign=campaign, rater=rater)
    page.goto(page.url.replace(f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/"))
    page.fill("#id_overlap", "0.5")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    error = page.inner_text("#field-overlap .error")
    assert "The overlap cannot change once raters have been served its items" in error
    page.screenshot(path=str(ARTIFACTS / "campaign-edit-refused.png"), full_page=True)
    campaign.refresh_from_db()
    assert campaign.overlap == 0.2 and campaign.quota_per_rater == 12
