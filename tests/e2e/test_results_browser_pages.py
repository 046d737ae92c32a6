"""The results browser and a comparison's detail on real model answers (../shared/real-outputs), in Chromium.

Screenshots: var/artifacts/results-browser.png and results-detail.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.models import Campaign, Comparison, RaterExclusion, Rating
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from eval_sets.models import Prompt
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system, rate

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
# Answers with a wide Markdown table (176), wide code (252), the longest of the set (284), and others.
ROWS = (176, 252, 284, 3, 10, 42, 77, 120)
PASSWORD = "e2e-password-1"

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real model outputs in {REAL}"),
]


@pytest.fixture
def rated_campaign(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="results-researcher", role="researcher", password=PASSWORD)
    raters = [user_create(username=f"results-rater-{i}", role="rater", password=PASSWORD) for i in range(3)]
    outputs = {
        name: json.loads((REAL / f"{name}.json").read_text())
        for name in ("gpt4_1106_preview", "Meta-Llama-3-8B-Instruct")
    }
    first = outputs["gpt4_1106_preview"]
    eval_set = make_eval_set(
        name="results-real", n_prompts=len(ROWS), texts=[first[i]["instruction"] for i in ROWS]
    )
    for name, rows in outputs.items():

        def text(p: Prompt, rows: list[dict[str, str]] = rows) -> str:
            return rows[ROWS[p.position]]["output"]

        make_system(name, eval_set, text=text)
    campaign = campaign_create(
        name="results-real", eval_set=eval_set, systems=list(outputs), raters=raters, min_seconds=0,
        ratings_per_comparison=3,
    )  # fmt: skip
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    sides = ["left", "right", "tie", "both_bad"]
    for i, rater in enumerate(raters):

        def side(n: int, i: int = i) -> str:
            return sides[(n * (i + 1)) % 4] if n % 3 else "left"

        rate(campaign, rater, side)
    Rating.objects.filter(campaign=campaign, rater=raters[0]).exclude(side="left").update(
        comment="The second answer invents a source."
    )
    RaterExclusion.objects.create(campaign=campaign, rater=raters[2], reason="one-sided")
    return campaign


def test_the_results_pages_on_real_answers(logged_in_page, rated_campaign):
    from playwright.sync_api import expect

    campaign = rated_campaign
    errors: list[str] = []
    page = logged_in_page(f"/campaigns/{campaign.pk}/results/", "results-researcher", PASSWORD)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect(page.locator("#match-count")).to_contain_text(f"{campaign.comparisons.count()} comparisons")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.screenshot(path=str(ARTIFACTS / "results-browser.png"), full_page=True)

    page.select_option("#id_disagreed", "yes")
    page.click("text=Filter")
    expect(page.locator("#match-count")).to_contain_text("match")
    page.locator("table.results a").first.click()
    expect(page.locator("h1")).to_contain_text("Comparison:")
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('.side-by-side > section')).map((s) => s.getBoundingClientRect().width)"
    )
    assert len(widths) == 2 and abs(widths[0] - widths[1]) < 2
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.screenshot(path=str(ARTIFACTS / "results-detail.png"), full_page=True)

    comparison_id = int(page.url.rsplit("id=", 1)[1])
    needed = Comparison.objects.get(pk=comparison_id).needed
    page.click("text=Ask for one more rating >> nth=-1")
    expect(page.locator(".messages")).to_contain_text(f"it now needs {needed + 1}")
    assert Comparison.objects.get(pk=comparison_id).needed == needed + 1
    assert not errors, errors


def test_search_comment_filter_dashboard_and_campaign_list_on_real_answers(logged_in_page, rated_campaign):
    from playwright.sync_api import expect

    campaign = rated_campaign
    first = Comparison.objects.filter(campaign=campaign).select_related("texts")[0]
    word = first.texts.text_a.split()[2]
    errors: list[str] = []
    page = logged_in_page(f"/campaigns/{campaign.pk}/results/", "results-researcher", PASSWORD)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.fill("#id_q", word)
    page.click("text=Filter")
    expect(page.locator("#match-count")).to_contain_text("match")
    assert page.locator("table.results a").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "results-search.png"), full_page=True)
    page.fill("#id_q", "")
    page.select_option("#id_has_comment", "yes")
    page.click("text=Filter")
    expect(page.locator("table.results")).to_contain_text("The second answer invents a source.")
    page.screenshot(path=str(ARTIFACTS / "results-comment.png"), full_page=True)
    page.goto(page.url.split("/campaigns/")[0] + "/dashboard/")
    expect(page.locator("progress").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.goto(page.url.split("/dashboard/")[0] + "/campaigns/")
    expect(page.locator("body")).to_contain_text(campaign.name)
    page.screenshot(path=str(ARTIFACTS / "campaign-list.png"), full_page=True)
    assert not errors, errors
