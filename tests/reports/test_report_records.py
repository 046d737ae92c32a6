# mypy: disable-error-code="union-attr, arg-type, misc"
"""The report's own records (no texts, stored style counts, streamed) give the report of the full records."""

from __future__ import annotations

import json
import random

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from analysis.report import report_build
from analysis.stats.style import style_counts
from annotate.models import Campaign, ComparisonTexts, RaterExclusion, Rating
from annotate.services import campaign_create, campaign_status_set, comparison_gold_mark
from reports.campaign_records import campaign_rating_records, campaign_report_records
from reports.campaign_report import campaign_report_source
from reports.sources import report_of
from tests.factories import make_eval_set, make_system, rate_by

pytestmark = pytest.mark.django_db

_STYLES = ("# Head\n- a\n- b\n**bold**", "plain words " * 9, "1. x\n```\n# code\n```\n__u__", "short")


def _campaign(make_rater, name: str = "slim") -> Campaign:
    eval_set = make_eval_set(name=f"set-{name}", n_prompts=12)
    for k, system in enumerate(("base", "cand", "third")):
        make_system(
            system, eval_set, text=lambda p, k=k: f"{_STYLES[(p.position + k) % 4]} {p.uid}" * (1 + k % 2)
        )
    raters = [make_rater(f"{name}-{i}") for i in range(3)]
    campaign = campaign_create(
        name=name,
        eval_set=eval_set,
        systems=["base", "cand", "third"],
        ratings_per_comparison=2,
        raters=raters,
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    rng = random.Random(5)
    for rater in raters:
        rate_by(campaign, rater, lambda item, n: rng.choice(["left", "right", "left", "tie", "both_bad"]))
    comparison_gold_mark(comparison=campaign.comparisons.order_by("pk").first(), answer="a")
    return campaign


def _json(report: dict) -> str:
    return json.dumps(report, sort_keys=True)


def test_the_report_of_the_records_without_texts_is_the_report_of_the_full_records(make_rater):
    campaign = _campaign(make_rater)
    RaterExclusion.objects.create(campaign=campaign, rater=User.objects.get(username="slim-2"))
    # A time on a whole second: isoformat() then writes no microseconds.
    first = Rating.objects.filter(campaign=campaign).order_by("created").first()
    Rating.objects.filter(pk=first.pk).update(created=first.created.replace(microsecond=0))
    for kwargs in (
        {},
        {"exclude_gold": True},
        {"include_excluded_raters": True},
        {"exclude_raters": ["slim-0"]},
    ):
        full = campaign_rating_records(campaign=campaign, **kwargs)
        slim = campaign_report_records(campaign=campaign, **kwargs)
        assert len(slim) == len(full) > 0
        assert all(r.text_a is None and r.prompt_text is None and r.style_a is not None for r in slim)
        for a, b in zip(full, slim, strict=True):
            assert (a.prompt_id, a.rater, a.choice, a.created, a.is_gold) == (
                b.prompt_id,
                b.rater,
                b.choice,
                b.created,
                b.is_gold,
            )
        order = ["base", "cand", "third"]
        assert _json(report_build(records=slim, system_order=order, rounds=200)) == _json(
            report_build(records=full, system_order=order, rounds=200)
        )
    with_texts = report_of(source=campaign_report_source(campaign=campaign))
    without = report_of(source=campaign_report_source(campaign=campaign, texts=False))
    assert with_texts["style_control"] is not None and _json(with_texts) == _json(without)


def test_the_json_report_command_reads_style_counts_and_prints_what_it_printed_from_texts(
    make_rater, tmp_path, monkeypatch
):
    campaign = _campaign(make_rater, name="cmd")
    call_command("report", campaign="cmd", fmt="json", out=str(tmp_path / "slim.json"))
    monkeypatch.setattr("reports.exports.REPORT_FORMATS", ())  # as before: the records with their texts
    monkeypatch.setattr("reports.management.commands.report.REPORT_FORMATS", ())
    call_command("report", campaign="cmd", fmt="json", out=str(tmp_path / "full.json"))
    assert (tmp_path / "slim.json").read_text() == (tmp_path / "full.json").read_text()
    assert json.loads((tmp_path / "slim.json").read_text())["style_control"] is not None
    assert campaign.comparisons.count() > 0


def test_the_first_report_counts_and_stores_the_rated_answers_style_and_leaves_the_unrated_alone(make_rater):
    campaign = _campaign(make_rater, name="kept")
    texts = ComparisonTexts.objects.filter(comparison__campaign=campaign)
    before = report_build(records=campaign_report_records(campaign=campaign), rounds=50)
    # The first report counted the rated answers and stored the counts.
    rated = texts.filter(comparison__ratings__isnull=False).distinct()
    assert rated.exists()
    for row in rated:
        assert (row.style_a_length, row.style_a_headers, row.style_a_lists, row.style_a_bold) == style_counts(
            row.text_a
        )
        assert (row.style_b_length, row.style_b_headers, row.style_b_lists, row.style_b_bold) == style_counts(
            row.text_b
        )
    texts.update(
        **dict.fromkeys([*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B])
    )  # as before migration 0014, or as a build by COPY leaves them
    unrated = campaign.comparisons.create(
        prompt=campaign.comparisons.first().prompt, system_a_id=campaign.comparisons.first().system_a_id,
        system_b_id=campaign.comparisons.first().system_b_id, order_key=1,
    )  # fmt: skip
    ComparisonTexts.objects.create(comparison=unrated, text_a="# a", text_b="b")
    after = report_build(records=campaign_report_records(campaign=campaign), rounds=50)
    assert _json(before) == _json(after)
    assert not rated.filter(style_a_length__isnull=True).exists()
    assert not rated.filter(style_b_bold__isnull=True).exists()
    # A report counts only what it reads: a comparison nobody rated keeps its texts uncounted.
    assert ComparisonTexts.objects.get(comparison=unrated).style_a_length is None
