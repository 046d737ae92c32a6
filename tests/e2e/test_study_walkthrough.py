"""A real study run from the site alone, as issues 13 and 26 ask: no shell after `make demo`.

A researcher imports AlpacaEval's 805 instructions (from one model's outputs file: only the prompts are
kept) and two systems' real answers, builds a campaign over a seeded, stratified sample of 30 prompts,
sets up recruiting (consent, a qualification round, completion codes, crowd entry with 5-item sessions)
and makes an invite link. Then, each in a fresh browser: two people join through the invite, pass the
practice round by keys and rate everything (one with a comment, the other always "left"); a crowd
participant enters with Prolific's parameters, passes by keys, rates the 5 items of a session and gets
the code from the rating loop itself; another fails the round and is screened out. The researcher sees
the one-sided flag, excludes that rater with one click, browses the results, asks for one more rating
of a comparison, and reads the report, which names who was excluded and why. Last, two automatic judges'
real verdicts (AlpacaEval's annotators) are imported from the judge page and the researcher picks which
one the report uses.

Real answers: ../shared/real-outputs (GPT-4 Turbo and Alpaca 7B). Screenshots: var/artifacts/study-*.png,
in the order of the walk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from annotate.models import Campaign, Comparison, RaterExclusion, Rating
from annotate.recruiting_models import ExternalRater, PracticeAnswer
from generation.models import ModelSpec
from judging.models import JudgeRun
from tests.e2e.conftest import ARTIFACTS, BROWSER_ARGS, CHROMIUM, needs_chromium
from tests.factories import PASSWORD

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
SYSTEMS = {"gpt4-turbo": "gpt4_1106_preview.json", "alpaca-7b": "alpaca-7b.json"}
ANNOTATIONS = REAL.parent / "peer-ratings" / "annotations"
JUDGES = ("weighted_alpaca_eval_gpt4_turbo", "alpaca_eval_cot_gpt4_turbo_fn")  # imported in this order
SAMPLE = 30  # prompts drawn from the 805
SESSION = 5  # items a crowd participant rates before the code
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
        not all((REAL / f).exists() for f in SYSTEMS.values()) or not ANNOTATIONS.exists(),
        reason=f"needs the real AlpacaEval outputs in {REAL} and annotations in {ANNOTATIONS}",
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
    """Answer the qualification round by the rating page's keys (1 left, 2 right): nothing is scored
    until the round is done, so no item shows its expected answer on the way."""
    for number in (1, 2):
        expect(page.locator("#practice-number")).to_have_text(str(number))
        # The guidelines are the rating page's Markdown, open: the bullets are a list, not "- " text.
        expect(page.locator(".guidelines-text li").first).to_be_visible()
        side = _right_practice_side(page)
        if not right:
            side = "right" if side == "left" else "left"
        page.wait_for_load_state()  # the key script is deferred: a key pressed before it runs is lost
        page.keyboard.press("1" if side == "left" else "2")
        if number == 1:
            expect(page.locator("#practice-number")).to_have_text("2")
            expect(page.locator(".expected")).to_have_count(0)
    if right:
        expect(page.locator("#review .expected, .practice-review .expected").first).to_be_visible()
        _shot(page, "4-practice-review")
        page.click("#start-rating")


def _rate(page, expect, *, keys: list[str], comment_first: str = "") -> None:
    progress = page.locator("#progress-text")
    expect(progress).to_have_text(re.compile(r"^0 rated"))
    for n, key in enumerate(keys, start=1):
        expect(page.locator("#left")).not_to_be_empty()
        if n == 1 and comment_first:
            page.fill("#comment", comment_first)
            page.locator("#comment").press("Escape")  # Esc leaves the box; the keys choose again
        page.keyboard.press(key)
        expect(progress).to_have_text(re.compile(rf"^{n} rated"))
    expect(page.locator("#done")).to_be_visible()


def _build_campaign_from_the_site(page, base: str, tmp_path: Path) -> Campaign:
    records = {name: json.loads((REAL / f).read_text(encoding="utf-8")) for name, f in SYSTEMS.items()}
    # The set comes from one model's outputs file: only the instructions are kept, not its answers.
    page.goto(base + reverse("eval_sets:upload"))
    page.fill("#id_name", "alpaca-eval")
    page.set_input_files("#id_file", str(REAL / SYSTEMS["gpt4-turbo"]))
    page.click("form.card button.primary")
    assert "805 prompts" in page.content()
    for name in SYSTEMS:
        page.goto(base + reverse("generation:outputs_upload"))
        page.fill("#id_model_name", name)
        page.select_option("#id_eval_set", label="alpaca-eval v1")
        page.set_input_files("#id_file", str(REAL / SYSTEMS[name]))
        page.click("form.card button.primary")
        assert f"answers of {name}" in page.content()
    assert len(records["alpaca-7b"]) == 805
    page.goto(base + reverse("annotate:campaign_new"))
    page.fill("#id_name", "walkthrough")
    page.select_option("#id_eval_set", label="alpaca-eval v1")
    for name in SYSTEMS:
        page.check(f"input[name=systems][value='{ModelSpec.objects.get(name=name).pk}']")
    page.fill("#id_sample", str(SAMPLE))
    page.fill("#id_sample_seed", "26")
    page.fill("#id_ratings_per_comparison", "3")
    page.fill("#id_overlap", "1")
    page.fill("#id_min_seconds", "0")
    page.check("#id_open_now")
    _shot(page, "1-campaign-form")
    page.click("form.card button.primary")
    campaign = Campaign.objects.get(name="walkthrough")
    assert campaign.status == Campaign.Status.OPEN and campaign.comparisons.count() == SAMPLE
    assert f"a sample of {SAMPLE} (seed 26" in page.inner_text("#sampling")
    return campaign


def _set_up_recruiting(page, campaign: Campaign, base: str) -> tuple[str, str]:
    page.goto(base + reverse("hub:campaign_detail", kwargs={"pk": campaign.pk}))
    page.click("#recruiting-link")
    page.fill("#id_consent_text", "# Consent\n\nYou will compare answers. Your data is **pseudonymous**.")
    page.fill("#id_practice_items", "2")
    page.fill("#id_qualification_percent", "100")
    page.check("#id_accept_external")
    page.fill("#id_session_items", str(SESSION))
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


def _join_by_invite(browser, invite: str, username: str, expect):  # type: ignore[no-untyped-def]
    person = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    person.set_default_timeout(15_000)
    person.goto(invite)
    person.fill("#id_username", username)
    person.fill("#id_password", SIGNUP_PASSWORD)
    person.fill("#id_password2", SIGNUP_PASSWORD)
    person.click("#signup button[type=submit]")
    expect(person.locator("#consent-text")).to_contain_text("pseudonymous")
    return person


def _crowd(browser, entry: str, pid: str, session: str, expect):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(_prolific(entry, pid, session))
    # The link asks first: nobody is created or logged in by a plain GET.
    expect(page.locator("#session-size")).to_contain_text(f"{SESSION} items")
    page.click("#start-study")
    page.click("#accept")
    return page


def test_a_study_runs_from_the_site_alone(live_server, researcher, tmp_path):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    with sync_playwright_browser() as browser:
        lab = browser.new_page(viewport={"width": 1280, "height": 900})
        lab.set_default_timeout(15_000)
        lab.goto(base + reverse("login"))
        lab.fill("#id_username", researcher.username)
        lab.fill("#id_password", PASSWORD)
        lab.click("button[type=submit]")
        campaign = _build_campaign_from_the_site(lab, base, tmp_path)
        invite, entry = _set_up_recruiting(lab, campaign, base)

        # 1. A person with the invite link: signup, consent, practice by keys, every item, a comment, the code.
        person = _join_by_invite(browser, invite, "invited-person", expect)
        _shot(person, "3-consent")
        person.click("#accept")
        _do_practice(person, expect, right=True)
        expect(person).to_have_url(re.compile(rf"/rate/task/{campaign.pk}/$"))
        _rate(
            person, expect, keys=["1", "2"] * (SAMPLE // 2), comment_first="Both fine; the left is clearer."
        )
        _shot(person, "5-rated")
        person.click("#finish-link")
        expect(person.locator("#completion-code")).to_have_text("CMPL-7731")

        # 2. A second invited person who answers "left" every time.
        lazy = _join_by_invite(browser, invite, "left-clicker", expect)
        lazy.click("#accept")
        _do_practice(lazy, expect, right=True)
        _rate(lazy, expect, keys=["1"] * SAMPLE)

        # 3. A crowd participant: a 5-item session that ends on the code, from the rating loop itself.
        crowd = _crowd(browser, entry, "60aa11bb22cc33dd44ee55ff", "s-1", expect)
        _do_practice(crowd, expect, right=True)
        progress = crowd.locator("#progress-text")
        for n in range(1, SESSION + 1):
            expect(crowd.locator("#left")).not_to_be_empty()
            crowd.keyboard.press("2" if n % 2 else "3")
            if n < SESSION:
                expect(progress).to_have_text(re.compile(rf"^{n} rated"))
        expect(crowd.locator("#completion-code")).to_have_text("CMPL-7731")
        _shot(crowd, "6-session-code")

        # 4. A crowd participant who fails the round is screened out with its own code, never the other.
        failing = _crowd(browser, entry, "70bb22cc33dd44ee55ff66aa", "s-2", expect)
        _do_practice(failing, expect, right=False)
        expect(failing.locator("#screened-out-code")).to_have_text("SCRN-0042")
        expect(failing.locator("body")).not_to_contain_text("CMPL-7731")
        _shot(failing, "7-screened-out")

        # 5. The researcher: the flag, one click to exclude, with the flag's reason.
        lazy_user = User.objects.get(username="left-clicker")
        lab.goto(base + reverse("hub:campaign_detail", kwargs={"pk": campaign.pk}))
        row = lab.locator("#raters tr", has_text=lazy_user.username)
        expect(row.locator("[data-flag=one_sided]")).to_be_visible()
        expect(lab.locator("#raters tr", has_text="invited-person").locator("[data-flag]")).to_have_count(0)
        lab.locator("#raters").scroll_into_view_if_needed()
        _shot(lab, "8-flags")
        lab.once("dialog", lambda dialog: dialog.accept())
        row.locator("button[value=exclude]").click()
        expect(lab.locator("#raters tr", has_text=lazy_user.username)).to_contain_text("xcluded")
        exclusion = RaterExclusion.objects.get(campaign=campaign, rater=lazy_user)
        assert exclusion.reason.startswith(f"One-sided: left in {SAMPLE} of {SAMPLE}")

        # 6. The results browser: the comment, the votes, and one more rating asked for.
        lab.goto(base + reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}))
        lab.select_option("#id_has_comment", "yes")
        lab.click("form.result-filters button[type=submit]")
        expect(lab.locator("#match-count")).to_have_text(re.compile(r"^1 comparison"))
        _shot(lab, "9-results")
        lab.locator("table.results a").first.click()
        expect(lab.locator("#votes")).to_contain_text("the left is clearer")
        commented = Comparison.objects.get(ratings__comment__startswith="Both fine")
        needed = commented.needed
        lab.click("#more button[type=submit]")
        _shot(lab, "10-detail")
        commented.refresh_from_db()
        assert commented.needed == needed + 1

        # 7. The report: who was excluded and why; the excluded rater's votes are left out.
        lab.goto(base + reverse("reports:campaign", kwargs={"pk": campaign.pk}))
        expect(lab.locator("body")).to_contain_text(f"One-sided: left in {SAMPLE} of {SAMPLE}")
        expect(lab.locator("body")).to_contain_text(lazy_user.username)
        _shot(lab, "11-report")

        # 8. Two judges' real verdicts, imported from the judge page; the researcher picks the older one.
        sampled = {c.prompt.text for c in campaign.comparisons.select_related("prompt")}
        for annotator in JUDGES:
            rows = json.loads((ANNOTATIONS / f"alpaca-7b_vs_gpt4_1106_preview.{annotator}.json").read_text())
            path = tmp_path / f"{annotator}.json"
            # AlpacaEval names the system gpt4_1106_preview; this campaign calls it gpt4-turbo.
            path.write_text(
                json.dumps([{**r, "generator_1": "gpt4-turbo"} for r in rows if r["instruction"] in sampled])
            )
            lab.goto(base + reverse("judging:campaign", kwargs={"pk": campaign.pk}))
            lab.set_input_files("#judge-file", str(path))
            lab.select_option("#judge-format", "alpacaeval")
            lab.fill("#judge-name", annotator)
            lab.click("#judge-file ~ button[type=submit]")
            expect(lab.locator("body")).to_contain_text(annotator)  # the run's own page
            assert JudgeRun.objects.filter(campaign=campaign, name=annotator, status="done").exists()
        lab.goto(base + reverse("judging:campaign", kwargs={"pk": campaign.pk}))
        expect(lab.locator("#judge-choice")).to_contain_text(JUDGES[1])
        chosen = JudgeRun.objects.get(campaign=campaign, name=JUDGES[0])
        lab.select_option("#judge-choice-run", str(chosen.pk))
        lab.locator("#judge-choice").get_by_role("button", name="Use this judge").click()
        expect(lab.locator("#judge-choice")).to_contain_text("chosen here")
        expect(lab.locator("#judge-choice")).to_contain_text(JUDGES[0])
        _shot(lab, "12-judge-choice")
        lab.goto(base + reverse("reports:campaign", kwargs={"pk": campaign.pk}))
        expect(lab.locator("#judge")).to_contain_text(JUDGES[0])
        expect(lab.locator("#judge")).to_contain_text("chosen for this report")
        lab.locator("#judge").scroll_into_view_if_needed()
        lab.locator("#judge").screenshot(path=str(ARTIFACTS / "study-13-report-judge.png"))

    crowd_user = ExternalRater.objects.get(external_id="60aa11bb22cc33dd44ee55ff").user
    assert Rating.objects.filter(campaign=campaign, rater=crowd_user).count() == SESSION
    assert Rating.objects.filter(campaign=campaign).count() == 2 * SAMPLE + SESSION
    assert PracticeAnswer.objects.count() == 8
    assert not Rating.objects.filter(rater__username__contains="70bb22cc").exists()


class sync_playwright_browser:
    """Chromium for the walk, closed whatever happens."""

    def __enter__(self):  # type: ignore[no-untyped-def]
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        return self._browser

    def __exit__(self, *exc: object) -> None:
        self._browser.close()
        self._playwright.stop()
