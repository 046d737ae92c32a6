"""The judge on real AlpacaEval data in headless Chromium: the campaign's judge card, the runs, a run.

The "human" ratings here are AlpacaEval's CoT GPT-4 annotator on a random 40 % of the pairs (real
verdicts standing in for people); the judge is its weighted GPT-4 annotator, imported on all pairs.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from annotate.models import Comparison, Rating
from annotate.services import campaign_create
from core.users import user_create
from judging.imports import judgments_import
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

pytestmark = [pytest.mark.e2e, needs_chromium]
REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "peer-ratings" / "annotations"
N = 200


@pytest.fixture
def judged_campaign(transactional_db, settings, tmp_path):
    weighted = REAL / "alpaca-7b_vs_gpt4_1106_preview.weighted_alpaca_eval_gpt4_turbo.json"
    cot = REAL / "alpaca-7b_vs_gpt4_1106_preview.alpaca_eval_cot_gpt4_turbo_fn.json"
    if not (weighted.exists() and cot.exists()):
        pytest.skip(f"real AlpacaEval annotations not found under {REAL}")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    rater = user_create(username="cot-gpt4", role="rater")
    records = json.loads(weighted.read_text())[:N]
    by_text = {r["instruction"]: r for r in records}
    human = {r["instruction"]: r["preference"] for r in json.loads(cot.read_text())[:N]}
    eval_set = make_eval_set(name="ae-judge", n_prompts=N, texts=[r["instruction"] for r in records])
    make_system("gpt4_1106_preview", eval_set, text=lambda p: by_text[p.text]["output_1"])
    make_system("alpaca-7b", eval_set, text=lambda p: by_text[p.text]["output_2"])
    campaign = campaign_create(
        name="ae-judge", eval_set=eval_set, systems=["alpaca-7b", "gpt4_1106_preview"], seed=3
    )
    rng = random.Random(11)
    for c in Comparison.objects.filter(campaign=campaign).select_related("prompt"):
        if rng.random() < 0.4:
            pref = human[c.prompt.text]
            choice = "b" if pref == 1 else "a" if pref == 2 else "tie"  # generator_1 is system B here
            Rating.objects.create(
                comparison=c, campaign=campaign, rater=rater, choice=choice, side="tie", seconds=9.0
            )
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(records))
    run = judgments_import(campaign=campaign, path=path)
    return campaign, run


def test_judge_card_runs_and_run_page(logged_in_page, judged_campaign):
    from playwright.sync_api import expect

    campaign, run = judged_campaign
    page = logged_in_page(f"/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000)
    card = page.locator("#judge")
    expect(card).to_contain_text("weighted_alpaca_eval_gpt4_turbo")
    expect(card).to_contain_text("Prediction-powered")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(ARTIFACTS / "judge-card.png"))
    page.goto(page.url.split("/campaigns/")[0] + f"/judging/campaigns/{campaign.pk}/")
    expect(page.locator("table")).to_contain_text("weighted_alpaca_eval_gpt4_turbo")
    page.screenshot(path=str(ARTIFACTS / "judge-runs.png"))
    page.goto(page.url.split("/judging/")[0] + f"/judging/runs/{run.pk}/")
    expect(page.locator("table").last).to_contain_text("p000")
    page.screenshot(path=str(ARTIFACTS / "judge-run.png"))


def test_the_report_page_shows_the_judge_and_prediction_powered_section(logged_in_page, judged_campaign):
    from playwright.sync_api import expect

    campaign, _run = judged_campaign
    page = logged_in_page(f"/reports/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000)
    section = page.locator("#judge")
    expect(section).to_contain_text("weighted_alpaca_eval_gpt4_turbo")
    expect(section).to_contain_text("Prediction-powered preference for gpt4_1106_preview")
    # Every comparison was judged, 40 % rated at random: the interval is given, not refused.
    overall = section.locator("tbody").last.locator("tr").first
    expect(overall).to_contain_text("Overall")
    expect(overall).not_to_contain_text("No prediction-powered interval")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "report-judge.png"))


def test_the_researcher_picks_the_reports_judge_and_both_pages_show_it_with_gwets_ac1(
    logged_in_page, judged_campaign, tmp_path
):
    from playwright.sync_api import expect

    campaign, first = judged_campaign
    weighted = REAL / "alpaca-7b_vs_gpt4_1106_preview.weighted_alpaca_eval_gpt4_turbo.json"
    path = tmp_path / "again.json"
    path.write_text(json.dumps(json.loads(weighted.read_text())[:N]))
    judgments_import(campaign=campaign, path=path, name="a-newer-import")
    page = logged_in_page(f"/judging/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000)
    choice = page.locator("#judge-choice")
    expect(choice).to_contain_text("a-newer-import")
    expect(choice).to_contain_text("the newest finished run")
    page.select_option("#judge-choice-run", str(first.pk))
    choice.get_by_role("button", name="Use this judge").click()
    expect(page.locator("#judge-choice")).to_contain_text("chosen here")
    expect(page.locator("#judge-choice")).to_contain_text("weighted_alpaca_eval_gpt4_turbo")
    page.locator("#judge-choice").screenshot(path=str(ARTIFACTS / "judge-choice.png"))
    base = page.url.split("/judging/")[0]
    page.goto(base + f"/campaigns/{campaign.pk}/")
    card = page.locator("#judge")
    expect(card).to_contain_text("weighted_alpaca_eval_gpt4_turbo")
    expect(card).to_contain_text("chosen for the report")
    expect(card).to_contain_text("Gwet's AC1")
    expect(card.locator("[data-field=ac1]")).to_have_text(re.compile(r"0\.\d{3}"))
    # the candidate wins nearly every real pair: kappa is held down by prevalence, and the card says so
    expect(card.locator("#prevalence-note")).to_contain_text("one label dominates")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(ARTIFACTS / "judge-card-choice-ac1.png"))
    page.goto(base + f"/reports/campaigns/{campaign.pk}/")
    section = page.locator("#judge")
    expect(section).to_contain_text("chosen for this report")
    expect(section).to_contain_text("Gwet's AC1")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "report-judge-choice-ac1.png"))
