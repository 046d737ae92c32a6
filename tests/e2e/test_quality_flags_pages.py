"""The campaign page's quality flags, one-click exclusion and comments, in Chromium on real answers.

Real answers from ../shared/real-outputs; the comments are the real written rationales of an automatic
judge on the same pairs (../shared/peer-ratings/annotations), as untrusted text a rater might write.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.models import Campaign, Comparison, RaterExclusion
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from eval_sets.models import Prompt
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import AlwaysGold, make_eval_set, make_system, rate_by

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL = SHARED / "real-outputs"
RATIONALES = (
    SHARED
    / "peer-ratings"
    / "annotations"
    / "alpaca-7b_vs_gpt4_1106_preview.alpaca_eval_cot_gpt4_turbo_fn.json"
)
N = 30
PASSWORD = "e2e-password-1"

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(not (REAL.is_dir() and RATIONALES.exists()), reason=f"needs {REAL} and {RATIONALES}"),
]


@pytest.fixture
def flagged_campaign(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="flag-researcher", role="researcher", password=PASSWORD)
    names = ("gpt4_1106_preview", "alpaca-7b")
    outputs = {name: json.loads((REAL / f"{name}.json").read_text())[:N] for name in names}
    rationales = json.loads(RATIONALES.read_text())[:N]
    eval_set = make_eval_set(
        name="flags-real", n_prompts=N, texts=[row["instruction"] for row in outputs[names[0]]]
    )
    for name, rows in outputs.items():

        def text(p: Prompt, rows: list[dict[str, str]] = rows) -> str:
            return rows[p.position]["output"]

        make_system(name, eval_set, text=text)
    raters = {key: user_create(username=key, role="rater", password=PASSWORD)
              for key in ("crowd-fast", "always-left", "gold-miss", "careful")}  # fmt: skip
    campaign = campaign_create(
        name="flags-e2e", eval_set=eval_set, systems=list(names), raters=list(raters.values()),
        ratings_per_comparison=4, overlap=1.0, gold_fraction=0.1,
    )  # fmt: skip
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    for comparison in campaign.comparisons.order_by("pk")[:3]:
        comparison.gold_answer = comparison.system_on_left
        comparison.save(update_fields=["gold_answer"])

    def rationale(item: Comparison, n: int) -> str:
        explanation = rationales[item.prompt.position]["raw_completion"]["concise_explanation"]
        return explanation if n % 3 == 0 else ""

    def balanced(item: Comparison, n: int) -> str:
        return "left" if item.gold_answer else ("left", "right", "tie")[n % 3]

    rate_by(campaign, raters["crowd-fast"], balanced, seconds=1.0)
    rate_by(campaign, raters["always-left"], lambda item, n: "left", seconds=6.0)
    rate_by(campaign, raters["gold-miss"], lambda item, n: "right" if item.gold_answer else "tie",
            seconds=9.0, n=8, rng=AlwaysGold())  # fmt: skip
    rate_by(campaign, raters["careful"], balanced, seconds=14.0, comment=rationale)
    return campaign, raters


def test_flags_show_with_numbers_one_click_excludes_and_comments_are_listed(logged_in_page, flagged_campaign):
    from playwright.sync_api import expect

    campaign, raters = flagged_campaign
    page = logged_in_page(f"/campaigns/{campaign.pk}/", "flag-researcher", PASSWORD, height=1400)
    section = page.locator("#raters")
    expect(section.locator("#flag-rules")).to_contain_text("= 0.01, from 20 decisive")
    for name, flag in (("crowd-fast", "too_fast"), ("always-left", "one_sided"), ("gold-miss", "gold")):
        expect(section.locator("tr", has_text=name).locator(f'[data-flag="{flag}"]')).to_be_visible()
    expect(section.locator("tr", has_text="careful").locator("[data-flag]")).to_have_count(0)
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "flags-raters.png"))

    row = section.locator("tr", has_text="always-left")
    reason = row.locator("input[name=reason]").input_value()
    assert reason.startswith("One-sided: left in ")
    row.locator("button[value=exclude]").click()
    expect(page.locator("#raters tr", has_text="always-left").locator(".badge.failed")).to_have_text(
        "excluded"
    )
    assert RaterExclusion.objects.get(campaign=campaign, rater=raters["always-left"]).reason == reason

    comments = page.locator("#comments")
    expect(comments.locator("#comment-list tbody tr").first).to_contain_text("careful")
    comments.scroll_into_view_if_needed()
    comments.screenshot(path=str(ARTIFACTS / "campaign-comments.png"))

    page.goto(page.url.split("/campaigns/")[0] + f"/reports/campaigns/{campaign.pk}/")
    excluded = page.locator("#excluded-raters")
    expect(excluded).to_contain_text("always-left")
    expect(excluded).to_contain_text("One-sided: left in")
    page.locator("#excluded-h").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "report-excluded-raters.png"))
