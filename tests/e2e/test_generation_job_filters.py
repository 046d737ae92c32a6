"""A generation job's page in Chromium on real answers: filter its 190 prompts, page through the result.

Real AlpacaEval instructions (../shared/real-outputs, its datasets as categories) and the three real
models' answers as samples; the scores are drawn at random (no real log probabilities exist for
them) and the kept/selected flags come from the real selection rule. Screenshot:
var/artifacts/generation-job-filters.png.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from django.urls import reverse

from eval_sets.models import EvalSet, Prompt, Setting
from generation.models import GenerationJob, ModelSpec, Sample
from generation.selection import select_response
from generation.views import PROMPTS_PER_PAGE
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import PASSWORD

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
FILES = ("gpt4_1106_preview.json", "Meta-Llama-3-8B-Instruct.json", "alpaca-7b.json")
PROMPTS = 190

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real model outputs in {REAL}"),
]


def real_job() -> GenerationJob:
    answers = [json.loads((REAL / name).read_text()) for name in FILES]
    rng = random.Random(7)
    eval_set = EvalSet.objects.create(
        name="alpacaeval", version=1, content_hash="real", source_format="alpacaeval"
    )
    settings = list(Setting)
    prompts = Prompt.objects.bulk_create(
        Prompt(eval_set=eval_set, uid=f"alpaca-{i:03d}", position=i, category=row["dataset"],
               setting=settings[i % len(settings)], text=row["instruction"])
        for i, row in enumerate(answers[0][:PROMPTS])
    )  # fmt: skip
    spec = ModelSpec.objects.create(name="real-answers", path="/nowhere", kind="causal")
    job = GenerationJob.objects.create(model=spec, eval_set=eval_set, samples_per_prompt=5, status="done",
                                       prompts_total=PROMPTS, prompts_done=PROMPTS)  # fmt: skip
    rows = []
    for i, prompt in enumerate(prompts):
        scores = [-rng.uniform(60, 200) for _ in range(5)]
        if rng.random() < 0.35:
            scores[rng.randrange(5)] = -rng.uniform(5, 25)
        choice = select_response(scores)
        for k, score in enumerate(scores):
            text = answers[k % len(answers)][i]["output"]
            rows.append(Sample(job=job, prompt=prompt, index=k, text=text, logprob_sum=score,
                               num_tokens=len(text) // 4, finish_reason="eos", kept=k in choice.kept,
                               selected=k == choice.index, threshold=choice.threshold))  # fmt: skip
    Sample.objects.bulk_create(rows)
    return job


def test_filtering_a_real_job_in_chromium(logged_in_page, researcher):
    job = real_job()
    dropped = set(Sample.objects.filter(job=job, kept=False).values_list("prompt_id", flat=True))
    want = list(
        Prompt.objects.filter(pk__in=dropped, category="koala", setting="zero_shot_cot")
        .order_by("position").values_list("uid", flat=True)
    )  # fmt: skip
    page = logged_in_page(
        reverse("generation:job_detail", args=[job.pk]), researcher.username, PASSWORD, 1000
    )
    assert "190 prompts with samples" in page.inner_text("#prompts")
    page.select_option("#id_filtered", "yes")
    page.select_option("#id_category", "koala")
    page.select_option("#id_setting", "zero_shot_cot")
    page.click("#prompts button[type=submit]")
    page.wait_for_load_state()
    shown = [t.split()[0] for t in page.locator("h2.prompt-title").all_inner_texts()]
    assert shown == want[:PROMPTS_PER_PAGE]
    assert f"{len(want)} prompt" in page.inner_text("#prompts")
    page.locator("#prompts").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "generation-job-filters.png"))
    # Searching the text narrows further and keeps the other filters.
    page.fill("#id_q", "the")
    page.click("#prompts button[type=submit]")
    page.wait_for_load_state()
    assert "filtered=yes" in page.url and "category=koala" in page.url
    page.fill("#id_q", "no instruction says zqxj")
    page.click("#prompts button[type=submit]")
    page.wait_for_load_state()
    assert "No prompt of this job matches these filters" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "generation-job-filters-empty.png"))


def test_a_real_jobs_page_summarises_its_scores_and_pages_the_prompts_in_a_few_screens(
    logged_in_page, researcher
):
    job = real_job()
    page = logged_in_page(
        reverse("generation:job_detail", args=[job.pk]), researcher.username, PASSWORD, 1000
    )
    page.wait_for_load_state("load")
    height = page.evaluate("document.documentElement.scrollHeight")
    plots = page.locator("[data-plot]").count()
    page.screenshot(path=str(ARTIFACTS / "generation-job-page.png"), full_page=True)
    # The scores summarised in two figures (all samples; this page's prompts), not one per prompt.
    assert plots == 2, f"{plots} figures"
    assert height < 10_000, f"the page is {height} px tall"  # 34,088 px with one figure per prompt
    assert "page 1 of" in page.inner_text("#prompts")
