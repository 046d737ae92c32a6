"""Every page a researcher and a rater can reach, with data in it, opened in headless Chromium.

Fails on any console error or uncaught exception, any failed request (status >= 400 or a request
that never completed) and any plot container that drew nothing. The list of pages comes from the
URL walk, so a new route fails here until it is given real arguments (or a reason it is no page).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from annotate.build_models import CampaignBuild
from annotate.models import Campaign
from annotate.services import campaign_create, campaign_status_set
from core.models import JobStatus
from core.users import user_create
from finetune.models import FinetuneJob
from generation.models import GenerationJob, ModelSpec, Sample
from generation.outputs_import import outputs_import
from judging.models import JudgeRun, Verdict
from tests.core.url_walk import walk
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_eval_set, make_system, rate

pytestmark = [pytest.mark.e2e, needs_chromium]

PASSWORD = "sweep-password-1"

# Routes that are not pages: actions that only take POST (the pages that hold their forms are swept).
NOT_PAGES = {
    "logout": "POST only",
    "generation:job_cancel": "POST only",
    "generation:job_retry": "POST only",
    "finetune:job_cancel": "POST only",
    "finetune:job_retry": "POST only",
    "annotate:api_next": "POST only (the rating page calls it; its requests are watched there)",
    "annotate:api_submit": "POST only",
    "annotate:api_undo": "POST only",
    "annotate:api_skip": "POST only",
    "annotate:campaign_status": "POST only",
    "annotate:campaign_raters": "POST only",
    "annotate:campaign_build_cancel": "POST only (its button is on hub:campaign_detail while building)",
    "annotate:campaign_build_retry": "POST only (its button is on hub:campaign_detail after a failed build)",
    "annotate:comparison_request_rating": "POST only (its form is on annotate:comparison_result)",
    "judging:run_cancel": "POST only",
    "judging:run_retry": "POST only",
    "login": "opened by every role on the way in",
    # The rater's way in needs a live token and an enrolment; tests/e2e/test_recruiting_flow.py drives
    # every one of these pages end to end in Chromium (invite, crowd entry, consent, practice, finish).
    "recruiting:invite": "driven end to end by tests/e2e/test_recruiting_flow.py",
    "recruiting:external": "driven end to end by tests/e2e/test_recruiting_flow.py",
    "recruiting:step": "redirect only; driven by tests/e2e/test_recruiting_flow.py",
    "recruiting:consent": "driven end to end by tests/e2e/test_recruiting_flow.py",
    "recruiting:practice": "driven end to end by tests/e2e/test_recruiting_flow.py",
    "recruiting:feedback": "driven end to end by tests/e2e/test_recruiting_flow.py",
    "recruiting:review": "driven end to end by tests/e2e/test_study_walkthrough.py (the qualification round's review)",
    "recruiting:finish": "driven end to end by tests/e2e/test_recruiting_flow.py",
    "api_pages:webhook": "a hook's delivery log: needs an allowed host; driven by tests/api/test_webhooks.py",
}
# The JSON API is no page: tests/api/test_schema_walk.py walks every operation of its schema.
API_PREFIX = "api:"
# Files the browser would save rather than show: fetched with the page's cookies, status checked.
DOWNLOADS = {"eval_sets:export", "generation:job_export", "reports:download", "plotly_js"}

# Plotly's own containers, and the ones our scripts draw into.
PLOT_CHECK = """() => Array.from(document.querySelectorAll(
    '.plotly-graph-div, .js-plotly-plot, [id$="-chart"]'
)).filter((el) => !el.querySelector('svg')).map((el) => el.id || el.className)"""


def _fill_database(tmp: Path) -> dict[str, Any]:
    researcher = user_create(username="sweep-researcher", role="researcher", password=PASSWORD)
    raters = [user_create(username=f"sweep-rater-{i}", role="rater", password=PASSWORD) for i in range(3)]
    eval_set = make_eval_set(name="sweep", n_prompts=12)
    make_system("sweep-base", eval_set)
    # A sampled job whose answers carry scores: the page draws one histogram per prompt and an overview.
    model = ModelSpec.objects.create(name="sweep-sampled", path="/models/sweep-sampled")
    scored = GenerationJob.objects.create(
        model=model, eval_set=eval_set, status=JobStatus.DONE, samples_per_prompt=3, finished=timezone.now(),
        prompts_total=12, prompts_done=12,
    )  # fmt: skip
    rng = random.Random(3)
    for prompt in eval_set.prompts.all():
        for index in range(3):
            Sample.objects.create(
                job=scored, prompt=prompt, index=index, text=f"**Answer** {index} to `{prompt.uid}`",
                logprob_sum=-rng.uniform(5, 40), num_tokens=12, finish_reason="eos",
                kept=index < 2, selected=index == 0,
            )  # fmt: skip
    # Answers made elsewhere, imported the way a researcher does it (torch-free).
    outputs = tmp / "sweep-outputs.jsonl"
    outputs.write_text(
        "".join(
            json.dumps({"prompt_id": p.uid, "response": f"| a | b |\n|---|---|\n| {p.position} | x |"}) + "\n"
            for p in eval_set.prompts.all()
        )
    )
    outputs_import(model_name="sweep-external", eval_set=eval_set, path=outputs)
    finetune = FinetuneJob.objects.create(
        name="sweep-ft", base_model=ModelSpec.objects.get(name="sweep-base"), mixture_path="/data/mix.json",
        status=JobStatus.DONE, step=30, total_steps=30, finished=timezone.now(),
        hyperparameters={"lr": 1e-4, "mixture": {"tasks": [{"name": "t", "type": "qa", "size": 9}]}},
        metrics=[{"step": s, "total_steps": 30, "loss": 3 / s, "eval_loss": 3.2 / s} for s in (10, 20, 30)],
    )  # fmt: skip
    campaign = campaign_create(
        name="sweep-campaign", eval_set=eval_set, systems=["sweep-base", "sweep-external"],
        raters=raters, overlap=0.5, gold_fraction=0.2, created_by=researcher, seed=1,
        instructions="Pick the **better** answer.\n\n- read both\n- then choose",
    )  # fmt: skip
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    sides = ["left", "right", "tie", "both_bad"]
    for i, rater in enumerate(raters[1:]):  # the first rater keeps items to rate in the browser
        rate(campaign, rater, lambda n, i=i: sides[(n + i) % 4])  # type: ignore[misc]
    # An automatic judge's verdicts on every comparison, as if imported from elsewhere.
    judge = JudgeRun.objects.create(
        campaign=campaign, name="sweep-judge", source=JudgeRun.Source.IMPORT, status=JobStatus.DONE,
        finished=timezone.now(), items_total=campaign.comparisons.count(),
        items_done=campaign.comparisons.count(),
    )  # fmt: skip
    for comparison in campaign.comparisons.all():
        p_a = rng.uniform(0.1, 0.8)
        Verdict.objects.create(run=judge, comparison=comparison, p_a=p_a, p_tie=0.1, p_b=0.9 - p_a)
    # A large campaign is built by a job: its finished build, whose page and status the researcher can open.
    build = CampaignBuild.objects.create(
        campaign=campaign, seed=1, status=JobStatus.DONE, finished=timezone.now(),
        done=campaign.comparisons.count(), total=campaign.comparisons.count(),
    )  # fmt: skip
    return {
        "campaign": campaign, "eval_set": eval_set, "job": scored, "finetune": finetune, "judge": judge,
        "build": build,
    }  # fmt: skip


def _pages(data: dict[str, Any]) -> dict[str, str]:
    """Real paths for every walked route name."""
    pk = {
        "eval_sets": data["eval_set"].pk,
        "generation": data["job"].pk,
        "finetune": data["finetune"].pk,
        "annotate": data["campaign"].pk,
        "hub": data["campaign"].pk,
        "reports": data["campaign"].pk,
        "judging": data["campaign"].pk,
        "recruiting": data["campaign"].pk,
    }
    paths = {}
    for name, sample in walk():
        if name in NOT_PAGES or name.startswith(API_PREFIX):
            continue
        app = name.split(":")[0]
        if "/1/" in sample + "/" and app in pk:
            kwarg = "campaign_id" if name in {"annotate:rate"} else "pk"
            key = data["judge"].pk if name.startswith("judging:run") else pk[app]
            key = data["build"].pk if name.startswith("annotate:campaign_build") else key
            paths[name] = reverse(name, kwargs={kwarg: key})
        else:
            paths[name] = sample
    return paths


RESEARCHER_PAGES = {
    "home", "healthz", "dashboard", "plotly_js", "eval_sets:list", "eval_sets:upload", "eval_sets:detail",
    "eval_sets:export", "generation:model_list", "generation:outputs_upload", "generation:job_list",
    "generation:job_create",
    "generation:job_detail", "generation:job_status", "generation:job_export", "finetune:job_list",
    "finetune:job_create", "finetune:job_detail", "finetune:job_metrics", "annotate:campaign_list",
    "annotate:campaign_new", "annotate:campaign_gold", "annotate:rater_list", "hub:campaign_detail",
    "reports:index", "reports:campaign", "reports:download", "judging:campaign", "judging:run_detail",
    "judging:run_status", "recruiting:manage", "annotate:campaign_results", "annotate:comparison_result",
    "annotate:campaign_edit", "api_pages:tokens", "api_pages:webhooks", "annotate:campaign_build_detail",
    "annotate:campaign_build_status",
}  # fmt: skip
RATER_PAGES = {"home", "healthz", "annotate:queue", "annotate:rate"}


def _sweep(browser: Any, base: str, username: str, names: set[str], paths: dict[str, str]) -> list[str]:
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    where = {"url": "login"}

    def excused(url: str) -> bool:
        # A JSON answer has no <link rel="icon">, so Chromium asks for /favicon.ico; HTML pages name theirs.
        return url.endswith("/favicon.ico") and where["url"].endswith(".json")

    def on_console(message: Any) -> None:
        if message.type == "error" and not excused(message.location.get("url", "")):
            problems.append(f"{where['url']}: console: {message.text} ({message.location.get('url')})")

    def on_response(response: Any) -> None:
        if response.status >= 400 and not excused(response.url):
            problems.append(f"{where['url']}: {response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"{where['url']}: uncaught: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"{where['url']}: failed {r.url}: {r.failure}"))
    page.on("response", on_response)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    for name in sorted(names):
        path = paths[name]
        where["url"] = path
        if name in DOWNLOADS:
            response = context.request.get(f"{base}{path}")
            if response.status != 200:
                problems.append(f"{path}: download answered {response.status}")
            continue
        response = page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        if response is None or response.status != 200 or page.url.rstrip("/").endswith("login"):
            problems.append(f"{path}: answered {response and response.status} at {page.url}")
            continue
        blank = page.evaluate(PLOT_CHECK)
        if blank:
            problems.append(f"{path}: plot containers drew nothing: {blank}")
        shot = name.replace(":", "-")
        page.screenshot(path=str(ARTIFACTS / f"{username}-{shot}.png"), full_page=False)
    context.close()
    return problems


def test_every_reachable_page_opens_without_errors(live_server, transactional_db, settings, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import BROWSER_ARGS, CHROMIUM

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    data = _fill_database(tmp_path)
    paths = _pages(data)
    walked = {name for name, _ in walk() if not name.startswith(API_PREFIX)}
    unclassified = walked - set(NOT_PAGES) - RESEARCHER_PAGES - RATER_PAGES
    assert not unclassified, f"new routes: add them to the sweep or to NOT_PAGES: {sorted(unclassified)}"
    assert walked >= (RESEARCHER_PAGES | RATER_PAGES), "the sweep names routes that no longer exist"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            problems = _sweep(browser, live_server.url, "sweep-researcher", RESEARCHER_PAGES, paths)
            problems += _sweep(browser, live_server.url, "sweep-rater-0", RATER_PAGES, paths)
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def test_the_sweep_notices_a_blank_plot_and_a_console_error():
    """The checks can fail: a page with an empty plot container and a script error is reported."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import BROWSER_ARGS, CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))  # type: ignore[func-returns-value]
            page.set_content(
                '<div class="plotly-graph-div" id="p"></div><script>Plotly.newPlot("p")</script>'
            )
            assert page.evaluate(PLOT_CHECK) == ["p"]
            assert any("Plotly" in e for e in errors)
        finally:
            browser.close()
