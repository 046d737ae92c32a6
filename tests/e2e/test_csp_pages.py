"""The Content-Security-Policy in a real browser: the rating page rates, and the figure pages draw.

Chromium reports every refused script or style both as a console error and as a
`securitypolicyviolation` event; the test listens for both, so a page that only works with inline
code fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from annotate.models import Rating
from tests.e2e.conftest import ARTIFACTS, BROWSER_ARGS, CHROMIUM, needs_chromium
from tests.e2e.test_page_sweep import PASSWORD, _fill_database

pytestmark = [pytest.mark.e2e, needs_chromium]

# Injected by the browser driver (outside the page's CSP): records every violation the page causes.
RECORD_VIOLATIONS = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber));"""
BLANK_PLOTS = """() => Array.from(document.querySelectorAll('[data-plot]')).filter((el) => !el.querySelector('svg')).length"""


def _open(browser: Any, base: str, username: str) -> tuple[Any, list[str]]:
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page, problems


def _visit(page: Any, base: str, path: str, problems: list[str]) -> None:
    response = page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status == 200, path
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    problems += [f"{path}: CSP: {v}" for v in page.evaluate("window.__csp")]


def test_the_rating_page_and_the_figure_pages_work_under_the_policy(
    live_server, transactional_db, settings, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    data = _fill_database(tmp_path)
    base = live_server.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page, problems = _open(browser, base, "sweep-researcher")
            for name, shot in (
                ("generation:job_detail", "csp-generation-job"),
                ("reports:campaign", "csp-report"),
            ):
                pk = data["job"].pk if name.startswith("generation") else data["campaign"].pk
                path = reverse(name, kwargs={"pk": pk})
                _visit(page, base, path, problems)
                plots = page.locator("[data-plot]").count()
                assert plots >= 2, f"{path}: expected figures, found {plots}"
                expect(page.locator("[data-plot] svg.main-svg").first).to_be_visible()
                assert page.evaluate(BLANK_PLOTS) == 0, f"{path}: a figure drew nothing"
                page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=False)

            # The offline report (the html download) is a file: opened from disk it draws the same figures.
            download = page.request.get(
                f"{base}{reverse('reports:download', kwargs={'pk': data['campaign'].pk})}?format=html"
            )
            assert download.status == 200
            offline = tmp_path / "report.html"
            offline.write_bytes(download.body())
            page.goto(offline.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("[data-plot]").count() >= 2
            expect(page.locator("[data-plot] svg.main-svg").first).to_be_visible()
            assert page.evaluate(BLANK_PLOTS) == 0, "the offline report drew nothing"

            rater, rater_problems = _open(browser, base, "sweep-rater-0")
            campaign = data["campaign"]
            path = reverse("annotate:rate", kwargs={"campaign_id": campaign.pk})
            _visit(rater, base, path, rater_problems)
            before = Rating.objects.filter(rater__username="sweep-rater-0").count()
            progress = rater.locator("#progress-text")
            expect(progress).to_have_text(re.compile(rf"^{before} rated"))
            rater.wait_for_timeout(int(campaign.min_seconds * 1000) + 300)  # the reading-time floor
            rater.locator("button.choice[data-side=tie]").click()
            expect(progress).to_have_text(re.compile(rf"^{before + 1} rated"))
            assert Rating.objects.filter(rater__username="sweep-rater-0").count() == before + 1
            rater_problems += [f"rate: CSP: {v}" for v in rater.evaluate("window.__csp")]
            rater.screenshot(path=str(ARTIFACTS / "csp-rate.png"), full_page=False)
        finally:
            browser.close()
    assert not problems + rater_problems, "\n".join(problems + rater_problems)
