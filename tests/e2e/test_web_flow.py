"""From the site only: import a set, upload two systems' real answers, build and open a campaign.

Real data: a 20-prompt slice of AlpacaEval from ../shared/real-outputs (GPT-4 Turbo answers all 20,
Alpaca 7B only the first 15, so the campaign needs "only the prompts every system answered").
Screenshots: var/artifacts/webflow-upload.png and webflow-form.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from annotate.models import Campaign
from generation.models import ModelSpec
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
needs_real = pytest.mark.skipif(
    not (REAL / "gpt4_1106_preview.json").exists() or not (REAL / "alpaca-7b.json").exists(),
    reason=f"needs the real AlpacaEval outputs in {REAL} (gpt4_1106_preview.json, alpaca-7b.json)",
)


def _slice(name: str, n: int, out: Path) -> Path:
    records = json.loads((REAL / name).read_text(encoding="utf-8"))[:n]
    out.write_text(json.dumps(records), encoding="utf-8")
    return out


@needs_real
def test_a_researcher_runs_the_web_flow_from_upload_to_an_open_campaign(
    logged_in_page, researcher, tmp_path, settings
):
    # The operator allows the served model's host and its key variable (both refused by default).
    settings.SERVED_ALLOWED_HOSTS = ["10.1.2.3"]
    settings.SERVED_API_KEY_VARS = ["LLAMA_SERVER_KEY"]
    instructions = _slice("gpt4_1106_preview.json", 20, tmp_path / "alpaca-slice.json")
    gpt4 = _slice("gpt4_1106_preview.json", 20, tmp_path / "gpt4_outputs.json")
    alpaca = _slice("alpaca-7b.json", 15, tmp_path / "alpaca7b_outputs.json")

    page = logged_in_page(reverse("eval_sets:upload"), researcher.username, PASSWORD)
    page.fill("#id_name", "alpaca-slice")
    page.set_input_files("#id_file", str(instructions))
    page.click("form.card button.primary")
    assert "20 prompts" in page.content()

    # Outputs made elsewhere: from the models page's link; a broken file first, which imports nothing.
    page.goto(page.url.split("/eval-sets/")[0] + reverse("generation:model_list"))
    # A served model registered from the same page: a bad URL first, then a good one.
    page.fill("#id_name", "llama-served")
    page.check("input[name=backend][value=openai]")
    page.fill("#id_base_url", "10.1.2.3:8000")
    page.fill("#id_served_model", "meta-llama/Llama-3.1-8B-Instruct")
    page.fill("#id_api_key_env", "LLAMA_SERVER_KEY")
    page.click("#register-form button.primary")
    assert "is not an http(s) URL" in page.locator("#register-form .error").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "webflow-served-model.png"), full_page=True)
    page.fill("#id_base_url", "http://10.1.2.3:8000/v1")
    page.click("#register-form button.primary")
    assert ModelSpec.objects.get(name="llama-served").is_served
    assert "LLAMA_SERVER_KEY" not in page.locator("table").inner_text()
    upload_link = reverse("generation:outputs_upload")
    page.click(f"main p a[href='{upload_link}']")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt_id": "alpacaeval_0", "response": "ok"}\n{"prompt_id": \n', encoding="utf-8")
    for name, path in (("broken", broken), ("gpt4-turbo", gpt4), ("alpaca-7b", alpaca)):
        page.fill("#id_model_name", name)
        page.select_option("#id_eval_set", label="alpaca-slice v1")
        page.set_input_files("#id_file", str(path))
        if name == "gpt4-turbo":
            page.screenshot(path=str(ARTIFACTS / "webflow-upload-filled.png"), full_page=True)
        page.click("form.card button.primary")
        if name == "broken":
            error = page.locator("#file-errors").inner_text()
            assert "Nothing was imported" in error and "line 2" in error
            page.screenshot(path=str(ARTIFACTS / "webflow-upload.png"), full_page=True)
            assert not ModelSpec.objects.filter(name="broken").exists()
        else:
            assert f"answers of {name}" in page.content()
            page.goto(page.url.split("/generation/")[0] + reverse("generation:outputs_upload"))

    # The campaign form: it shows what each system answered and refuses the full set until told.
    page.goto(page.url.split("/generation/")[0] + reverse("annotate:campaign_new"))
    coverage = page.locator("#coverage").inner_text()
    assert "gpt4-turbo 20/20" in coverage and "alpaca-7b 15/20" in coverage
    page.fill("#id_name", "web-flow")
    page.select_option("#id_eval_set", label="alpaca-slice v1")
    for name in ("gpt4-turbo", "alpaca-7b"):
        pk = ModelSpec.objects.get(name=name).pk
        page.check(f"input[name=systems][value='{pk}']")
    page.check("#id_stop_when_settled")
    page.fill("#id_precision", "0.2")
    page.check("#id_open_now")
    page.click("form.card button.primary")
    error = page.locator("#field-answered_only .error").inner_text()
    assert "answered 15 of the set's 20 prompts" in error
    assert not Campaign.objects.exists()
    page.locator("#field-answered_only").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "webflow-form.png"), full_page=True)
    page.check("#id_answered_only")
    page.click("form.card button.primary")

    campaign = Campaign.objects.get(name="web-flow")
    assert page.url.endswith(reverse("hub:campaign_detail", kwargs={"pk": campaign.pk}))
    assert campaign.status == Campaign.Status.OPEN and campaign.stop_when_settled
    assert campaign.precision == pytest.approx(0.2) and campaign.comparisons.count() == 15
    assert "built with 15 comparisons and opened to raters" in page.content()
    page.screenshot(path=str(ARTIFACTS / "webflow-campaign.png"), full_page=True)
