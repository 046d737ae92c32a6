"""The gold page in a real browser: a broken gold file is refused with its line, then real answers go in.

The pairs are two real models' answers (../shared/real-outputs), written as `json.dumps(...,
ensure_ascii=False)` does, with a byte-order mark, as a spreadsheet or an editor may save them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.models import Campaign
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
ROWS = (176, 252, 284)  # a wide Markdown table, wide code, the longest answers

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real model outputs in {REAL}"),
]


def test_a_broken_gold_file_names_its_line_and_real_answers_then_go_in(
    logged_in_page, transactional_db, settings, tmp_path
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="gold-researcher", role="researcher", password="e2e-password-1")
    strong = json.loads((REAL / "gpt4_1106_preview.json").read_text())
    weak = json.loads((REAL / "alpaca-7b.json").read_text())
    # The gold pairs' prompts (writing, even ids) are not rated by the campaign (coding, odd ids).
    texts = [text for i in ROWS for text in (strong[i]["instruction"], f"Rated prompt beside row {i}.")]
    eval_set = make_eval_set(name="gold-real", n_prompts=len(texts), texts=texts)
    make_system("sys-alpha", eval_set)
    make_system("sys-beta", eval_set)
    campaign = campaign_create(
        name="gold-e2e", eval_set=eval_set, systems=["sys-alpha", "sys-beta"], categories=["coding"]
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    pairs = [
        {
            "prompt_id": f"p{2 * n:03d}",
            "text_a": strong[row]["output"],
            "text_b": weak[row]["output"],
            "answer": "a",
        }
        for n, row in enumerate(ROWS)
    ]
    lines = [json.dumps(pair, ensure_ascii=False) for pair in pairs]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], lines[1][:-40], lines[2]]), encoding="utf-8-sig")
    good = tmp_path / "gold.jsonl"
    good.write_text("\n".join(lines), encoding="utf-8-sig")

    problems: list[str] = []
    page = logged_in_page(f"/campaigns/{campaign.pk}/gold/", "gold-researcher", "e2e-password-1")
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.wait_for_load_state()
    page.set_input_files("input[type=file]", str(broken))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    page.get_by_text("Gold file not added").wait_for()
    assert "broken.jsonl, line 2: not valid JSON" in page.content()
    assert campaign.comparisons.filter(gold_uploaded=True).count() == 0
    page.screenshot(path=str(ARTIFACTS / "gold-upload-refused.png"), full_page=True)

    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    page.get_by_text("Added 3 gold pairs.").wait_for()
    stored = {c.texts.text_a for c in campaign.comparisons.filter(gold_uploaded=True).select_related("texts")}
    assert stored == {pair["text_a"] for pair in pairs}
    page.screenshot(path=str(ARTIFACTS / "gold-upload-added.png"), full_page=True)
    assert problems == []
