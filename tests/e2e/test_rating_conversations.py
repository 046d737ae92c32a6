"""The rating page on real two-turn conversations (MT-Bench, ../shared/real-conversations), in Chromium.

At 1400x900 and 390x844: no sideways scroll, equal columns for the rated turn and the earlier one,
the rated turn marked and in view with the choice bar, the earlier turn cut short and expandable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from annotate.models import Campaign, Rating
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from eval_sets.services import eval_set_import
from generation.outputs_import import outputs_import
from tests.e2e.conftest import ARTIFACTS, needs_chromium

SHARED = Path(__file__).resolve().parents[3] / "shared"
QUESTIONS = SHARED / "evalsets-public" / "mt_bench_question.jsonl"
ANSWERS = SHARED / "real-conversations"
# A writing question, a coding one (code blocks in both turns) and a humanities one (long answers).
IDS = (81, 122, 151)
MODELS = ("gpt-4", "vicuna-13b-v1.3")

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(
        not (QUESTIONS.exists() and ANSWERS.is_dir()), reason="needs ../shared real conversations"
    ),
]


def _lines(path: Path) -> bytes:
    keep = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["question_id"] in IDS
    ]
    return ("\n".join(keep) + "\n").encode()


@pytest.fixture
def conversation_campaign(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rater = user_create(username="conv-rater", role="rater", password="e2e-password-1")
    eval_set = eval_set_import(data=_lines(QUESTIONS), filename="mt.jsonl", name="mt-bench-3").eval_set
    for name in MODELS:
        outputs_import(
            model_name=name, eval_set=eval_set, data=_lines(ANSWERS / f"{name}.jsonl"), filename=name
        )
    campaign = campaign_create(
        name="conv-e2e", eval_set=eval_set, systems=list(MODELS), raters=[rater], min_seconds=0,
        rate="conversation",
    )  # fmt: skip
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign, rater


MEASURE = """() => {
    const doc = document.documentElement;
    const width = (id) => document.getElementById(id).closest('section').getBoundingClientRect().width;
    const earlier = [...document.querySelectorAll('#history .response')].map((e) => e.getBoundingClientRect().width);
    const rated = document.getElementById('rated-prompt').getBoundingClientRect();
    const bar = document.getElementById('choices').getBoundingClientRect();
    return {scroll: doc.scrollWidth - doc.clientWidth, left: width('left'), right: width('right'), earlier,
            ratedTop: rated.top, barTop: bar.top, barBottom: bar.bottom, vh: window.innerHeight,
            label: document.getElementById('prompt-label').textContent};
}"""


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_two_real_conversations_side_by_side(logged_in_page, conversation_campaign, width, height):
    from playwright.sync_api import expect

    campaign, rater = conversation_campaign
    page = logged_in_page(f"/rate/task/{campaign.pk}/", "conv-rater", "e2e-password-1")
    page.set_viewport_size({"width": width, "height": height})
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated, 3 left$"))
    for number in range(len(IDS)):
        expect(page.locator("#left")).not_to_be_empty()
        expect(page.locator("#history .earlier-turn")).to_have_count(1)
        page.wait_for_timeout(150)
        m = page.evaluate(MEASURE)
        assert m["scroll"] <= 0, f"page scrolls sideways by {m['scroll']} px at {width}"
        assert abs(m["left"] - m["right"]) <= 0.05 * max(m["left"], m["right"]), m
        assert len(m["earlier"]) == 2 and abs(m["earlier"][0] - m["earlier"][1]) <= 0.05 * max(
            m["earlier"]
        ), m
        assert m["label"] == "Turn 2: the turn you rate"
        assert -1 <= m["ratedTop"] < m["vh"] / 2, f"the rated turn is not at the top of the screen: {m}"
        assert m["barTop"] >= 0 and m["barBottom"] <= m["vh"], f"choices out of view: {m}"
        if number == 0:
            page.screenshot(path=str(ARTIFACTS / f"rating-conversation-{width}.png"))
            # The earlier turn is a scroll away, cut short, and opens whole.
            turn = page.locator("#history .earlier-turn")
            answer = turn.locator(".answer").first
            cut = answer.evaluate("(e) => e.getBoundingClientRect().height")
            turn.locator("button.expand").click()
            expect(turn).not_to_have_class(re.compile(r"collapsed"))
            assert answer.evaluate("(e) => e.getBoundingClientRect().height") > cut
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / f"rating-conversation-{width}-earlier-open.png"))
            assert page.evaluate(MEASURE)["scroll"] <= 0
        page.locator("button.choice[data-side=left]").click()
        expect(progress).to_have_text(re.compile(rf"^{number + 1} rated"))
    assert Rating.objects.filter(rater=rater).count() == len(IDS)
    expect(page.locator("#done")).to_be_visible()


def test_the_results_browser_shows_a_real_conversation_whole(logged_in_page, conversation_campaign):
    from annotate.models import Comparison

    campaign, _rater = conversation_campaign
    user_create(username="conv-researcher", role="researcher", password="e2e-password-1")
    comparison = Comparison.objects.filter(campaign=campaign, turn=2).first()
    assert comparison is not None
    path = f"/campaigns/{campaign.pk}/results/comparison/?id={comparison.pk}"
    page = logged_in_page(path, "conv-researcher", "e2e-password-1")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.get_by_text("Turn 1 (before the rated turn)").wait_for()
    assert page.get_by_text("Turn 2 of 2: the rated turn").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.screenshot(path=str(ARTIFACTS / "results-conversation-1400.png"), full_page=True)
