"""Skips no longer turn PPI off, the researcher picks the report's judge run, active labelling serves and weighs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.assignment import item_next, item_skip, rating_submit
from annotate.models import Comparison, Rating
from judging.active import campaign_active_labelling_start, campaign_judge_choose
from judging.errors import JudgingError
from judging.imports import judgments_import
from judging.models import JudgeChoice, JudgeRun
from reports.campaign_report import source_from_campaign
from reports.exports import report_export
from tests.judging.test_judge_report import VERDICTS, _write_jsonl

pytestmark = pytest.mark.django_db


def _report(campaign) -> dict:
    return json.loads(report_export(source=source_from_campaign(name=campaign.name), fmt="json"))


def _rate(campaign, rater, uid: str, choice: str) -> None:
    c = Comparison.objects.get(campaign=campaign, prompt__uid=uid)
    Rating.objects.create(
        comparison=c, campaign=campaign, rater=rater, choice=choice, side="tie", seconds=5.0
    )


@pytest.fixture
def judged(campaign_factory, make_rater, tmp_path: Path):
    campaign = campaign_factory(n_prompts=6)
    run = judgments_import(campaign=campaign, path=_write_jsonl(tmp_path / "v.jsonl", VERDICTS), name="first")
    return campaign, run, make_rater("rhea")


def test_a_comparison_skipped_and_rated_by_nobody_is_left_out_of_ppi_with_the_reason_shown(judged) -> None:
    campaign, _run, rater = judged
    for uid, choice in {"p000": "b", "p001": "a", "p002": "tie"}.items():
        _rate(campaign, rater, uid, choice)
    skipper = item_next(campaign=campaign, rater=rater)
    assert skipper is not None
    item_skip(campaign=campaign, rater=rater, token=skipper.token)
    ppi = _report(campaign)["overall"]["ppi"]
    assert ppi is not None  # one skip used to refuse PPI for the whole campaign
    assert ppi["excluded_skipped"] == 1
    assert "skipped and rated by nobody" in ppi["excluded_reason"]
    assert ppi["n_human"] == 3 and ppi["n_judge_only"] == 6 - 3 - 1


def test_the_results_browser_lists_comparisons_skipped_and_rated_by_nobody(judged, researcher_client) -> None:
    campaign, _run, rater = judged
    _rate(campaign, rater, "p000", "b")
    skipped = item_next(campaign=campaign, rater=rater)
    assert skipped is not None
    item_skip(campaign=campaign, rater=rater, token=skipped.token)
    page = researcher_client.get(f"/campaigns/{campaign.pk}/results/?skipped_unrated=yes")
    body = page.content.decode()
    assert page.status_code == 200 and "Skipped, rated by nobody" in body
    assert f"id={skipped.pk}" in body
    assert f'name="comparison" value="{skipped.pk}"' in body  # "Ask for one more rating" on its row
    assert all(
        f'id={c.pk}"' not in body for c in Comparison.objects.filter(campaign=campaign).exclude(pk=skipped.pk)
    )


def test_the_researcher_chooses_which_judge_run_feeds_the_report(judged, researcher_client, tmp_path) -> None:
    campaign, first, rater = judged
    _rate(campaign, rater, "p000", "b")
    _rate(campaign, rater, "p001", "a")
    judgments_import(campaign=campaign, path=_write_jsonl(tmp_path / "w.jsonl", VERDICTS), name="second")
    assert _report(campaign)["judge"]["name"] == "second"  # the newest by default
    response = researcher_client.post(
        f"/judging/campaigns/{campaign.pk}/", {"action": "choose", "run": first.pk}
    )
    assert response.status_code == 302
    judge = _report(campaign)["judge"]
    assert judge["name"] == "first" and judge["chosen"] is True
    card = researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "chosen for the report" in card and "Gwet's AC1" in card
    researcher_client.post(f"/judging/campaigns/{campaign.pk}/", {"action": "choose", "run": ""})
    assert _report(campaign)["judge"]["name"] == "second"


def test_a_run_of_another_campaign_or_an_unfinished_one_cannot_be_chosen(judged, campaign_factory) -> None:
    campaign, run, _rater = judged
    other = campaign_factory(n_prompts=2, name="other")
    with pytest.raises(JudgingError, match="another campaign"):
        campaign_judge_choose(campaign=other, run=run)
    queued = JudgeRun.objects.create(campaign=campaign, name="later", status="queued")
    with pytest.raises(JudgingError, match="only a finished run"):
        campaign_judge_choose(campaign=campaign, run=queued)
    assert not JudgeChoice.objects.exists()


def test_active_labelling_stores_bounded_probabilities_and_serves_the_drawn_comparisons_first(judged) -> None:
    campaign, run, rater = judged
    drawn = campaign_active_labelling_start(campaign=campaign, run=run, budget=3)
    rows = list(Comparison.objects.filter(campaign=campaign))
    assert all(c.label_probability is not None and c.label_probability >= 0.2 * 3 / 6 - 1e-9 for c in rows)
    assert sum(float(c.label_probability or 0.0) for c in rows) == pytest.approx(3.0)
    assert sum(c.label_rank == 0 for c in rows) == drawn
    # an unsure verdict (p002: 0.2 / 0.3 / 0.5) is more likely drawn than the surest (p004: 0.9 for B)
    by_uid = {
        c.prompt.uid: float(c.label_probability or 0.0)
        for c in Comparison.objects.select_related("prompt").filter(campaign=campaign)
    }
    assert by_uid["p002"] > by_uid["p004"]
    served = []
    for _ in range(drawn):
        item = item_next(campaign=campaign, rater=rater)
        assert item is not None
        served.append(item.label_rank)
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    assert served == [0] * drawn
    assert JudgeChoice.objects.get(campaign=campaign).run == run
    if drawn >= 2:
        ppi = _report(campaign)["overall"]["ppi"]
        assert ppi is not None and ppi["design"] == "active" and ppi["n_human"] == drawn


def test_active_labelling_is_refused_after_the_first_rating_and_writes_nothing(judged) -> None:
    campaign, run, rater = judged
    _rate(campaign, rater, "p000", "b")
    with pytest.raises(JudgingError, match="before the first rating"):
        campaign_active_labelling_start(campaign=campaign, run=run, budget=3)
    assert not Comparison.objects.filter(campaign=campaign, label_probability__isnull=False).exists()
    assert not JudgeChoice.objects.exists()


def test_the_judge_page_starts_active_labelling_and_names_bad_input(judged, researcher_client) -> None:
    campaign, run, _rater = judged
    url = f"/judging/campaigns/{campaign.pk}/"
    bad = researcher_client.post(url, {"action": "active", "run": run.pk, "budget": "three"}, follow=True)
    assert "as a whole number" in bad.content.decode()
    assert not Comparison.objects.filter(campaign=campaign, label_probability__isnull=False).exists()
    done = researcher_client.post(url, {"action": "active", "run": run.pk, "budget": "3"}, follow=True)
    body = done.content.decode()
    assert "Active labelling is on" in body and "served first" in body
    assert Comparison.objects.filter(campaign=campaign, label_probability__isnull=False).count() == 6
