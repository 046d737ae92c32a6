"""A whole study run from the site alone, as issue 13 asks: no shell after `make demo`.

A researcher imports a set and two systems' real answers, builds and opens a campaign, sets up
recruiting (consent, a practice round with a qualification threshold, completion codes, crowd entry)
and makes an invite link. Then, each in a fresh browser: a person joins through the invite, passes the
practice round and rates with a comment; a crowd rater enters with Prolific's parameters, passes and
rates everything "left"; another crowd rater fails the practice round and is screened out. The
researcher sees the one-sided flag, excludes that rater with one click, browses the results, asks for
one more rating of a comparison, and reads the report, which names who was excluded and why.

Real answers: the first 22 AlpacaEval instructions from ../shared/real-outputs (GPT-4 Turbo and
Alpaca 7B). Screenshots: var/artifacts/study-*.png, in the order of the walk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from annotate.models import Campaign, Comparison, RaterExclusion, Rating
from annotate.recruiting_models import ExternalRater, PracticeAnswer
from generation.models import ModelSpec
from tests.e2e.conftest import ARTIFACTS, BROWSER_ARGS, CHROMIUM, needs_chromium
from tests.factories import PASSWORD

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
SYSTEMS = {"gpt4-turbo": "gpt4_1106_preview.json", "alpaca-7b": "alpaca-7b.json"}
N = 22  # at least 20 decisive votes, so the one-sided rule can speak
SIGNUP_PASSWORD = "a-long-enough-passphrase-42"
PRACTICE = [
    {"prompt": "What is 2 + 2?", "text_a": "4", "text_b": "5", "answer": "a",
     "explanation": "2 + 2 is 4, so the answer saying **4** is right."},
    {"prompt": "Name the capital of France.", "text_a": "Lyon", "text_b": "Paris", "answer": "b",
     "explanation": "Paris is the capital; Lyon is the third largest city."},
]  # fmt: skip

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not all((REAL / f).exists() for f in SYSTEMS.values()),
        reason=f"needs the real AlpacaEval outputs in {REAL} ({', '.join(SYSTEMS.values())})",
    ),
]


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"study-{name}.png"), full_page=True)


def _right_practice_side(page) -> str:
    """The side showing the practice item's right answer (sides are drawn at random)."""
    left = page.locator("#left").inner_text().strip()
    for line in PRACTICE:
        right_text = line["text_a"] if line["answer"] == "a" else line["text_b"]
        if line["prompt"] in page.locator(".prompt").inner_text():
            return "left" if left == right_text else "right"
    raise AssertionError("an unknown practice item")


def _do_practice(page, expect, *, right: bool) -> None:
    for number in (1, 2):
        expect(page.locator("#practice-number")).to_have_text(str(number))
        # The guidelines are the rating page's Markdown, open: the bullets are a list, not "- " text.
        expect(page.locator(".guidelines-text li").first).to_be_visible()
        side = _right_practice_side(page)
        if not right:
            side = "right" if side == "left" else "left"
        page.click(f"button[data-side={side}]")
        expect(page.locator("#expected")).to_be_visible()
        if number == 1:
            _shot(page, "4-practice-feedback")
        page.click("#continue")


def _rate(page, expect, *, keys: list[str], comment_first: str = "") -> None:
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated"))
    for n, key in enumerate(keys, start=1):
        expect(page.locator("#left")).not_to_be_empty()
        if n == 1 and comment_first:
            page.fill("#comment", comment_first)
            page.locator("#comment").blur()
        page.keyboard.press(key)
        expect(progress).to_have_text(re.compile(rf"^{n} rated"))
    expect(page.locator("#done")).to_be_visible()


def _build_campaign_from_the_site(page, base: str, tmp_path: Path) -> Campaign:
    records = {name: json.loads((REAL / f).read_text(encoding="utf-8"))[:N] for name, f in SYSTEMS.items()}
    instructions = tmp_path / "alpaca-22.json"
    instructions.write_text(json.dumps(records["gpt4-turbo"]), encoding="utf-8")
    page.goto(base + reverse("eval_sets:upload"))
    page.fill("#id_name", "alpaca-22")
    page.set_input_files("#id_file", str(instructions))
    page.click("form.card button.primary")
    assert f"{N} prompts" in page.content()
    for name, rows in records.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
        page.goto(base + reverse("generation:outputs_upload"))
        page.fill("#id_model_name", name)
        page.select_option("#id_eval_set", label="alpaca-22 v1")
        page.set_input_files("#id_file", str(path))
        page.click("form.card button.primary")
        assert f"answers of {name}" in page.content()
    page.goto(base + reverse("annotate:campaign_new"))
    page.fill("#id_name", "walkthrough")
    page.select_option("#id_eval_set", label="alpaca-22 v1")
    for name in SYSTEMS:
        page.check(f"input[name=systems][value='{ModelSpec.objects.get(name=name).pk}']")
    page.fill("#id_ratings_per_comparison", "3")
    page.fill("#id_overlap", "0")
    page.fill("#id_min_seconds", "0")
    page.check("#id_open_now")
    _shot(page, "1-campaign-form")
    page.click("form.card button.primary")
    campaign = Campaign.objects.get(name="walkthrough")
    assert campaign.status == Campaign.Status.OPEN and campaign.comparisons.count() == N
    return campaign


def _set_up_recruiting(page, campaign: Campaign, base: str) -> tuple[str, str]:
    page.goto(base + reverse("hub:campaign_detail", kwargs={"pk": campaign.pk}))
    page.click("#recruiting-link")
    page.fill("#id_consent_text", "# Consent\n\nYou will compare answers. Your data is **pseudonymous**.")
    page.fill("#id_practice_items", "2")
    page.fill("#id_qualification_percent", "100")
    page.check("#id_accept_external")
    page.fill("#id_completion_code", "CMPL-7731")
    page.fill("#id_screened_out_code", "SCRN-0042")
    page.click("#save-settings")
    page.fill("#id_text", "\n".join(json.dumps(line) for line in PRACTICE))
    page.click("button:has-text('Add practice items')")
    page.fill("#id_max_uses", "10")
    page.click("#make-invite")
    _shot(page, "2-recruiting")
    invite = page.locator("code.invite-url").first.inner_text().strip()
    entry = page.locator("#entry-url").inner_text().strip()
    assert "/join/i/" in invite and "PROLIFIC_PID={{%PROLIFIC_PID%}}" in entry
    return invite, entry


def _prolific(entry: str, pid: str, session: str) -> str:
    return (entry.replace("{{%PROLIFIC_PID%}}", pid).replace("{{%STUDY_ID%}}", "study-1")
            .replace("{{%SESSION_ID%}}", session))  # fmt: skip


def test_a_study_runs_from_the_site_alone(live_server, researcher, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            lab = browser.new_page(viewport={"width": 1280, "height": 900})
            lab.set_default_timeout(15_000)
            lab.goto(base + reverse("login"))
            lab.fill("#id_username", researcher.username)
            lab.fill("#id_password", PASSWORD)
            lab.click("button[type=submit]")
            campaign = _build_campaign_from_the_site(lab, base, tmp_path)
            invite, entry = _set_up_recruiting(lab, campaign, base)

            # 1. A person with the invite link: signup, consent, practice, rating with a comment, code.
            person = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            person.set_default_timeout(15_000)
            person.goto(invite)
            person.fill("#id_username", "invited-person")
            person.fill("#id_password", SIGNUP_PASSWORD)
            person.fill("#id_password2", SIGNUP_PASSWORD)
            person.click("#signup button[type=submit]")
            expect(person.locator("#consent-text")).to_contain_text("pseudonymous")
            _shot(person, "3-consent")
            person.click("#accept")
            _do_practice(person, expect, right=True)
            expect(person).to_have_url(re.compile(rf"/rate/task/{campaign.pk}/$"))
            _rate(person, expect, keys=["1", "2"] * (N // 2), comment_first="Both fine; the left is clearer.")
            _shot(person, "5-rated")
            person.click("#finish-link")
            expect(person.locator("#completion-code")).to_have_text("CMPL-7731")

            # 2. A crowd rater who answers "left" every time, from the Prolific entry URL, no password.
            crowd = browser.new_context().new_page()
            crowd.set_default_timeout(15_000)
            crowd.goto(_prolific(entry, "60aa11bb22cc33dd44ee55ff", "s-1"))
            crowd.click("#accept")
            _do_practice(crowd, expect, right=True)
            _rate(crowd, expect, keys=["1"] * N)
            crowd.click("#finish-link")
            expect(crowd.locator("#completion-code")).to_have_text("CMPL-7731")

            # 3. A crowd rater who fails the practice round is screened out with its own code.
            failing = browser.new_context().new_page()
            failing.set_default_timeout(15_000)
            failing.goto(_prolific(entry, "70bb22cc33dd44ee55ff66aa", "s-2"))
            failing.click("#accept")
            _do_practice(failing, expect, right=False)
            expect(failing.locator("#completion-code")).to_have_text("SCRN-0042")
            _shot(failing, "6-screened-out")

            # 4. The researcher: the flag, one click to exclude, with the flag's reason.
            crowd_user = ExternalRater.objects.get(external_id="60aa11bb22cc33dd44ee55ff").user
            lab.goto(base + reverse("hub:campaign_detail", kwargs={"pk": campaign.pk}))
            row = lab.locator("#raters tr", has_text=crowd_user.username)
            expect(row.locator("[data-flag=one_sided]")).to_be_visible()
            expect(lab.locator("#raters tr", has_text="invited-person").locator("[data-flag]")).to_have_count(
                0
            )
            lab.locator("#raters").scroll_into_view_if_needed()
            _shot(lab, "7-flags")
            row.locator("button[value=exclude]").click()
            exclusion = RaterExclusion.objects.get(campaign=campaign, rater=crowd_user)
            assert exclusion.reason.startswith("One-sided: left in 22 of 22")

            # 5. The results browser: the comment, the votes, and one more rating asked for.
            lab.goto(base + reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}))
            lab.select_option("#id_has_comment", "yes")
            lab.click("form.result-filters button[type=submit]")
            expect(lab.locator("#match-count")).to_have_text(re.compile(r"^1 comparison"))
            _shot(lab, "8-results")
            lab.locator("table.results a").first.click()
            expect(lab.locator("#votes")).to_contain_text("the left is clearer")
            commented = Comparison.objects.get(ratings__comment__startswith="Both fine")
            lab.click("#more button[type=submit]")
            _shot(lab, "9-detail")
            commented.refresh_from_db()
            assert commented.needed == 4

            # 6. The report: who was excluded and why; the excluded rater's votes are left out.
            lab.goto(base + reverse("hub:campaign_detail", kwargs={"pk": campaign.pk}))
            lab.goto(base + reverse("reports:campaign", kwargs={"pk": campaign.pk}))
            expect(lab.locator("body")).to_contain_text("One-sided: left in 22 of 22")
            expect(lab.locator("body")).to_contain_text(crowd_user.username)
            _shot(lab, "10-report")
        finally:
            browser.close()

    assert Rating.objects.filter(campaign=campaign).count() == 2 * N
    assert PracticeAnswer.objects.count() == 6
    assert not Rating.objects.filter(rater__username__contains="70bb22cc").exists()
