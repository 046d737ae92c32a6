"""Style control on the real AlpacaEval pair in headless Chromium: report page, HTML report, campaign page.

The ratings are AlpacaEval's CoT GPT-4 annotator's verdicts on all 805 pairs (gpt4_1106_preview against
alpaca-7b), standing in for a rater; the answers are the real ones, so the length effect is real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.models import Comparison, Rating
from annotate.services import campaign_create
from core.users import user_create
from reports.campaign_report import source_from_campaign
from reports.exports import report_export
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

pytestmark = [pytest.mark.e2e, needs_chromium]
REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "peer-ratings" / "annotations"
COT = REAL / "alpaca-7b_vs_gpt4_1106_preview.alpaca_eval_cot_gpt4_turbo_fn.json"


@pytest.fixture
def real_pair_campaign(transactional_db, settings):
    if not COT.exists():
        pytest.skip(f"real AlpacaEval annotations not found under {REAL}")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="e2e-researcher", role="researcher", password="e2e-password-1")
    rater = user_create(username="cot-gpt4", role="rater")
    rows = json.loads(COT.read_text(encoding="utf-8"))
    by_text = {r["instruction"]: r for r in rows}
    eval_set = make_eval_set(name="ae-style", n_prompts=len(rows), texts=[r["instruction"] for r in rows])
    make_system("alpaca-7b", eval_set, text=lambda p: by_text[p.text]["output_2"])
    make_system("gpt4_1106_preview", eval_set, text=lambda p: by_text[p.text]["output_1"])
    campaign = campaign_create(
        name="ae-style", eval_set=eval_set, systems=["alpaca-7b", "gpt4_1106_preview"], seed=3
    )
    Rating.objects.bulk_create(
        Rating(
            comparison=c,
            campaign=campaign,
            rater=rater,
            # system A is alpaca-7b (generator_2), B gpt4 (generator_1)
            choice={1.0: "b", 2.0: "a"}.get(by_text[c.prompt.text]["preference"], "tie"),
            side="tie",
            seconds=9.0,
        )
        for c in Comparison.objects.filter(campaign=campaign).select_related("prompt")
    )
    return campaign


def test_the_report_pages_show_raw_and_style_controlled_rates_on_the_real_pair(
    logged_in_page, real_pair_campaign
):
    from playwright.sync_api import expect

    campaign = real_pair_campaign
    page = logged_in_page(f"/reports/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000)
    expect(page.locator("#style-summary")).to_contain_text("At equal length and formatting")
    section = page.locator("#style-control")
    expect(section).to_contain_text("Longer answer")
    expect(page.locator("#fig-style-coefficients .js-plotly-plot")).to_be_visible()
    expect(page.locator("#fig-length-ratio .js-plotly-plot")).to_be_visible()
    header = page.locator("table").first.locator("thead")
    expect(header).to_contain_text("Style-controlled")
    page.locator("#style-summary").screenshot(path=str(ARTIFACTS / "style-summary.png"))
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "style-section.png"))
    page.locator("#fig-style-coefficients").screenshot(path=str(ARTIFACTS / "style-coefficients.png"))
    page.locator("#fig-length-ratio").screenshot(path=str(ARTIFACTS / "style-length-ratio.png"))

    html = report_export(source=source_from_campaign(name=campaign.name), fmt="html")
    path = ARTIFACTS / "style-report.html"
    path.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())
    expect(page.locator("#style-control")).to_contain_text("Longer answer")
    expect(page.locator("#fig-style-coefficients .js-plotly-plot")).to_be_visible()

    page = logged_in_page(f"/campaigns/{campaign.pk}/", "e2e-researcher", "e2e-password-1", 1000)
    expect(page.locator(".style-estimate").first).to_contain_text("At equal length and formatting")
    page.locator(".style-estimate").first.screenshot(path=str(ARTIFACTS / "style-campaign.png"))
