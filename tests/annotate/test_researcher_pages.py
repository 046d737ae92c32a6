# mypy: disable-error-code="union-attr"
from __future__ import annotations

import io
import random

import pytest
from django.contrib.auth.models import User

from annotate.assignment import item_next, rating_submit
from annotate.models import Campaign, RaterExclusion
from annotate.ratings_export import campaign_rating_records
from annotate.services import campaign_progress, comparison_gold_mark, gold_upload, rater_stats
from core.roles import is_rater

from .conftest import make_eval_set, make_system

pytestmark = pytest.mark.django_db


class AlwaysGold(random.Random):
    def random(self) -> float:
        return 0.0


def rate(campaign, rater, side, n=100, rng=None):
    for _ in range(n):
        item = item_next(campaign=campaign, rater=rater, rng=rng)
        if item is None:
            return
        rating_submit(campaign=campaign, rater=rater, token=item.token, side=side, seconds=4.0)


def test_researcher_creates_a_campaign_with_the_form(researcher_client, make_rater):
    eval_set = make_eval_set(name="form-set", n_prompts=3)
    base = make_system("base", eval_set)
    tuned = make_system("tuned", eval_set)
    rater = make_rater("form-rater")
    page = researcher_client.get("/campaigns/new/")
    assert page.status_code == 200 and "sparingly" in page.content.decode()
    response = researcher_client.post(
        "/campaigns/new/",
        {
            "name": "from-form", "eval_set": eval_set.pk, "systems": [tuned.pk, base.pk], "baseline": base.pk,
            "pairing": "all_pairs", "ratings_per_comparison": 1, "overlap": 0, "gold_fraction": 0,
            "raters": [rater.pk], "instructions": "Be fair.", "open_now": "on",
        },
    )  # fmt: skip
    campaign = Campaign.objects.get(name="from-form")
    assert response.status_code == 302 and response.url == f"/campaigns/{campaign.pk}/"
    assert campaign.system_names() == ["base", "tuned"]
    assert campaign.status == "open" and campaign.instructions == "Be fair."
    assert campaign.comparisons.count() == 3 and list(campaign.raters.all()) == [rater]


def test_the_form_shows_build_errors(researcher_client):
    eval_set = make_eval_set(name="err-set", n_prompts=2)
    a = make_system("complete", eval_set)
    b = make_system("incomplete", eval_set, skip_prompts=["p000"])
    response = researcher_client.post(
        "/campaigns/new/",
        {"name": "bad", "eval_set": eval_set.pk, "systems": [a.pk, b.pk], "pairing": "all_pairs",
         "ratings_per_comparison": 1, "overlap": 0, "gold_fraction": 0, "instructions": "x"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "incomplete" in response.content.decode() and "p000" in response.content.decode()
    assert not Campaign.objects.filter(name="bad").exists()


def test_dashboard_shows_progress_rater_stats_and_live_estimate(
    researcher_client, campaign_factory, make_rater
):
    r1, r2 = make_rater("dash-one"), make_rater("dash-two")
    campaign = campaign_factory(
        name="dash", n_prompts=4, ratings_per_comparison=2, systems=("sys-x", "sys-y"), raters=[r1, r2]
    )
    rate(campaign, r1, "left")
    rate(campaign, r2, "left")
    page = researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "dash-one" in page and "dash-two" in page
    assert 'id="progress-done">8</span> of 8 ratings needed' in page
    assert "sys-y</strong> vs <strong>sys-x" in page
    assert "/reports/?campaign=dash" in page
    assert researcher_client.get("/campaigns/").content.decode().count("dash") >= 1


def test_qc_stats_count_median_gold_accuracy_and_agreement(campaign_factory, make_rater):
    r1, r2, r3 = make_rater("q1"), make_rater("q2"), make_rater("q3")
    campaign = campaign_factory(
        name="qc", n_prompts=6, ratings_per_comparison=3, gold_fraction=0.5, raters=[r1, r2, r3]
    )
    gold = campaign.comparisons.order_by("pk").first()
    # The gold answer is the system shown on the left, so "left" is right and "right" is wrong.
    comparison_gold_mark(comparison=gold, answer=gold.left)
    rate(campaign, r1, "left", rng=AlwaysGold())
    rate(campaign, r2, "left", rng=AlwaysGold())
    rate(campaign, r3, "right", rng=AlwaysGold())
    stats = {s.username: s for s in rater_stats(campaign=campaign)}
    assert (
        stats["q1"].count == 6
        and stats["q1"].median_seconds is not None
        and 0 <= stats["q1"].median_seconds <= 4.0
    )
    assert stats["q1"].gold_total == 1 and stats["q1"].gold_accuracy == 1.0
    assert stats["q3"].gold_accuracy == 0.0
    # On the 5 regular items q1 and q2 agree with each other and never with q3.
    assert stats["q1"].agreement == pytest.approx(0.5) and stats["q1"].agreement_items == 5
    assert stats["q3"].agreement == pytest.approx(0.0)
    progress = campaign_progress(campaign=campaign)
    assert progress.done == progress.needed == 15 and progress.gold_items == 1


def test_rater_management_creates_adds_and_excludes(researcher_client, campaign_factory):
    response = researcher_client.post("/raters/", {"username": "new-rater", "password": "long-enough-pw"})
    assert response.status_code == 302
    user = User.objects.get(username="new-rater")
    assert is_rater(user) and user.check_password("long-enough-pw")
    campaign = campaign_factory(name="mgmt")
    url = f"/campaigns/{campaign.pk}/raters"
    researcher_client.post(url, {"user": user.pk, "action": "add"})
    assert list(campaign.raters.all()) == [user]
    researcher_client.post(url, {"user": user.pk, "action": "exclude"})
    assert RaterExclusion.objects.filter(campaign=campaign, rater=user).exists()
    researcher_client.post(url, {"user": user.pk, "action": "include"})
    assert not RaterExclusion.objects.exists()
    researcher_client.post(url, {"user": user.pk, "action": "remove"})
    assert not campaign.raters.exists()
    assert "new-rater" in researcher_client.get("/raters/").content.decode()


def test_a_researcher_cannot_add_a_non_rater(researcher_client, researcher, campaign_factory):
    campaign = campaign_factory(name="norater")
    response = researcher_client.post(
        f"/campaigns/{campaign.pk}/raters", {"user": researcher.pk, "action": "add"}, follow=True
    )
    assert "is not a rater" in response.content.decode()
    assert not campaign.raters.exists()


def test_gold_marking_and_upload_pages(researcher_client, campaign_factory):
    campaign = campaign_factory(name="goldpage", n_prompts=3)
    comparison = campaign.comparisons.first()
    url = f"/campaigns/{campaign.pk}/gold/"
    assert researcher_client.get(url).status_code == 200
    researcher_client.post(url, {"comparison": comparison.pk, "answer": "both_bad"})
    comparison.refresh_from_db()
    assert comparison.gold_answer == "both_bad"
    upload = io.BytesIO(b'{"prompt_id": "p001", "text_a": "right", "text_b": "wrong", "answer": "a"}\n')
    upload.name = "gold.jsonl"
    researcher_client.post(url, {"file": upload})
    assert campaign.comparisons.filter(gold_uploaded=True, gold_answer="a").count() == 1
    bad = io.BytesIO(b'{"prompt_id": "nope", "text_a": "x", "text_b": "y", "answer": "a"}\n')
    bad.name = "bad.jsonl"
    response = researcher_client.post(url, {"file": bad}, follow=True)
    assert "is not in" in response.content.decode()


def test_campaign_status_can_be_changed(researcher_client, campaign_factory):
    campaign = campaign_factory(name="status", open_=False)
    researcher_client.post(f"/campaigns/{campaign.pk}/status", {"status": "open"})
    campaign.refresh_from_db()
    assert campaign.status == "open"


def test_rating_records_unblind_systems_and_leave_out_excluded_raters(campaign_factory, make_rater):
    r1, r2 = make_rater("e1"), make_rater("e2")
    campaign = campaign_factory(name="export", n_prompts=3, ratings_per_comparison=2, raters=[r1, r2])
    rate(campaign, r1, "left")
    rate(campaign, r2, "right")
    gold_upload(
        campaign=campaign, lines=['{"prompt_id": "p000", "text_a": "a", "text_b": "b", "answer": "a"}']
    )
    records = campaign_rating_records(campaign=campaign)
    assert len(records) == 6
    for rec in records:
        assert rec.campaign == "export" and (rec.system_a, rec.system_b) == ("sys-alpha", "sys-beta")
        assert rec.left in ("a", "b") and rec.prompt_text.startswith("Prompt number")
        assert rec.text_a.startswith("Answer to") and rec.seconds >= 0 and "T" in rec.created
        expected = rec.left if rec.rater == "e1" else {"a": "b", "b": "a"}[rec.left]
        assert rec.choice == expected
        assert rec.category and rec.setting
    RaterExclusion.objects.create(campaign=campaign, rater=r2)
    assert {r.rater for r in campaign_rating_records(campaign=campaign)} == {"e1"}
    assert len(campaign_rating_records(campaign=campaign, include_excluded_raters=True)) == 6
    assert campaign_rating_records(campaign=campaign, exclude_raters=["e1"]) == []
    comparison_gold_mark(comparison=campaign.comparisons.filter(gold_uploaded=False).first(), answer="a")
    assert len(campaign_rating_records(campaign=campaign, exclude_gold=True)) == 2
    assert sum(r.is_gold for r in campaign_rating_records(campaign=campaign)) == 1


def test_gold_answers_reach_the_report_as_each_raters_gold_accuracy(campaign_factory, make_rater):
    from reports.build import report_build

    r1, r2 = make_rater("g1"), make_rater("g2")
    campaign = campaign_factory(name="gold-acc", n_prompts=2, ratings_per_comparison=2, raters=[r1, r2])
    rate(campaign, r1, "left")
    rate(campaign, r2, "right")
    first = campaign.comparisons.order_by("pk").first()
    comparison_gold_mark(comparison=first, answer=first.left)  # the left response was the right answer
    records = campaign_rating_records(campaign=campaign)
    assert {r.gold_choice for r in records if r.is_gold} == {first.left}
    raters = report_build(records=records)["raters"]
    accuracy = {row["rater"]: row["gold_accuracy"] for row in raters}
    assert accuracy == {"g1": 1.0, "g2": 0.0}
