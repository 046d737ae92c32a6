"""What a newcomer sees at 1400 px: dashboard, campaign page and report on real answers, nothing clipped.

Real AlpacaEval instructions and answers (../shared/real-outputs, its 5 datasets as categories), three
raters with overlap, long real model names: every card and every table inside an overflow container
must show all its content (scrollWidth <= clientWidth, or the container scrolls on purpose), and the
category chart's x labels must not overlap. Screenshots go to var/artifacts/<SWEEP_PREFIX>-*.png.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from annotate.assignment import item_next, rating_submit
from annotate.models import Campaign
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from eval_sets.models import EvalSet, Prompt
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_system

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"
SYSTEMS = ("gpt4_1106_preview", "Meta-Llama-3-8B-Instruct")
PREFIX = os.environ.get("SWEEP_PREFIX", "after")

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real model outputs in {REAL}"),
]

# Anything whose content is wider than its box and that does not scroll on purpose is clipped.
CLIPPED_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('main .card, main table, main section')) {
    const style = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    if (!scrolls && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${el.tagName}.${el.className} ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page ${doc.scrollWidth}>${doc.clientWidth}`);
  return out;
}"""

# Adjacent x tick labels of every plotly chart that run into each other. Upright labels: their boxes
# overlap. Slanted labels are parallel strips, one line high, whose distance apart is the horizontal
# step times the sine of the angle: they collide when that is less than the font size.
OVERLAP_JS = r"""() => {
  const out = [];
  document.querySelectorAll('.js-plotly-plot').forEach((plot, k) => {
    const ticks = [...plot.querySelectorAll('.xaxislayer-above .xtick text')]
      .filter(t => t.getBoundingClientRect().width > 0);
    for (let i = 0; i + 1 < ticks.length; i++) {
      const a = ticks[i].getBoundingClientRect(), b = ticks[i + 1].getBoundingClientRect();
      const m = /rotate\((-?[0-9.]+)/.exec(ticks[i].getAttribute('transform') || '');
      const angle = m ? Math.abs(parseFloat(m[1])) * Math.PI / 180 : 0;
      const size = parseFloat(getComputedStyle(ticks[i]).fontSize);
      const clear = angle === 0
        ? a.right <= b.left + 0.5 || a.bottom <= b.top + 0.5 || b.bottom <= a.top + 0.5
        : (b.right - a.right) * Math.sin(angle) >= size;
      if (!clear) out.push(`plot ${k}: labels ${i} and ${i + 1}`);
    }
  });
  return out;
}"""


def _real_campaign(*, n_per_dataset: int, categories: int | None) -> Campaign:
    outputs = {name: json.loads((REAL / f"{name}.json").read_text()) for name in SYSTEMS}
    first = outputs[SYSTEMS[0]]
    rows: list[int] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(first):
        if seen.get(row["dataset"], 0) < n_per_dataset:
            seen[row["dataset"]] = seen.get(row["dataset"], 0) + 1
            rows.append(i)
    name = "alpacaeval-real" if categories is None else f"alpacaeval-{categories}-categories"
    eval_set = EvalSet.objects.create(
        name=name, version=1, content_hash=f"h-{name}", source_format="alpacaeval"
    )
    settings = ["zero_shot", "zero_shot_cot", "few_shot"]
    for position, i in enumerate(rows):
        category = first[i]["dataset"] if categories is None else f"category number {position % categories}"
        Prompt.objects.create(
            eval_set=eval_set,
            uid=f"a{i:03d}",
            position=position,
            category=category,
            setting=settings[position % 3],
            text=first[i]["instruction"],
        )
    for system, answers in outputs.items():

        def text(p: Prompt, answers: list[dict[str, str]] = answers) -> str:
            return answers[rows[p.position]]["output"]

        make_system(system, eval_set, text=text)
    raters = [user_create(username=f"{name}-rater-{k}", role="rater") for k in range(3)]
    campaign = campaign_create(
        name=f"{name}: GPT-4 Turbo against Llama 3 8B Instruct",
        eval_set=eval_set,
        systems=list(SYSTEMS),
        raters=raters,
        overlap=0.5,
        seed=3,
        min_seconds=0,
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    rng = random.Random(11)
    for rater in raters:
        while (item := item_next(campaign=campaign, rater=rater)) is not None:
            choice = rng.choices(["b", "a", "tie", "both_bad"], weights=[5, 3, 1, 1])[0]
            side = (
                choice
                if choice in ("tie", "both_bad")
                else ("left" if item.system_on_left == choice else "right")
            )
            rating_submit(
                campaign=campaign, rater=rater, token=item.token, side=side, seconds=rng.uniform(5, 60)
            )
    return campaign


@pytest.fixture
def campaigns(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="sweep-researcher", role="researcher", password="e2e-password-1")
    return _real_campaign(n_per_dataset=4, categories=None), _real_campaign(n_per_dataset=2, categories=10)


def _check(page, shot: str) -> tuple[list[str], list[str]]:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"{PREFIX}-{shot}.png"), full_page=True)
    return page.evaluate(CLIPPED_JS), page.evaluate(OVERLAP_JS)


def test_dashboard_campaign_and_report_pages_hide_nothing_at_1400px(logged_in_page, campaigns):
    real, ten = campaigns
    page = logged_in_page("/dashboard/", "sweep-researcher", "e2e-password-1")
    page.set_viewport_size({"width": 1400, "height": 900})
    origin = "/".join(page.url.split("/", 3)[:3])
    problems: dict[str, list[str]] = {}
    for shot, path in [
        ("dashboard", "/dashboard/"),
        ("campaign", f"/campaigns/{real.pk}/"),
        ("report", f"/reports/campaigns/{real.pk}/"),
        ("report-10-categories", f"/reports/campaigns/{ten.pk}/"),
        ("campaign-list", "/campaigns/"),
        ("reports-index", "/reports/"),
    ]:
        page.goto(origin + path)
        clipped, overlapping = _check(page, shot)
        if shot.startswith("report-") or shot == "report":
            # The sweep means nothing on a report that drew no chart.
            assert page.locator(".js-plotly-plot .xtick text").count() >= 5, shot
        if clipped or overlapping:
            problems[shot] = clipped + overlapping
    assert not problems, problems
