# mypy: disable-error-code="union-attr"
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User

from annotate.models import Campaign, RaterExclusion
from annotate.selectors import campaign_progress, campaign_roster
from annotate.services import comparison_gold_mark, gold_upload
from core.roles import is_rater
from tests.factories import AlwaysGold, make_eval_set, make_system, rate

pytestmark = pytest.mark.django_db


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
    assert campaign.status == Campaign.Status.OPEN and campaign.instructions == "Be fair."
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


def test_progress_counts_ratings_against_what_is_needed_with_gold_apart(campaign_factory, make_rater):
    r1, r2, r3 = make_rater("q1"), make_rater("q2"), make_rater("q3")
    campaign = campaign_factory(
        name="qc", n_prompts=6, ratings_per_comparison=3, gold_fraction=0.5, raters=[r1, r2, r3]
    )
    gold = campaign.comparisons.order_by("pk").first()
    comparison_gold_mark(comparison=gold, answer=gold.system_on_left)
    rate(campaign, r1, "left", rng=AlwaysGold())
    rate(campaign, r2, "left", rng=AlwaysGold())
    rate(campaign, r3, "right", rng=AlwaysGold())
    progress = campaign_progress(campaign=campaign)
    assert progress.done == progress.needed == 15 and progress.gold_items == 1
    assert progress.ratings_total == 18 and progress.median_seconds is not None


def test_the_roster_counts_uploaded_gold_checks_the_reports_never_see(campaign_factory, make_rater):
    r1, r2 = make_rater("u1"), make_rater("u2")
    campaign = campaign_factory(
        name="roster",
        n_prompts=2,
        ratings_per_comparison=2,
        gold_fraction=0.5,
        raters=[r1, r2],
        categories=["coding"],  # p000 stays free for the gold pair
    )
    gold_upload(campaign=campaign, data=b'{"prompt_id": "p000", "text_a": "a", "text_b": "b", "answer": "a"}')
    rate(campaign, r1, "left", rng=AlwaysGold())
    rate(campaign, r2, "left", rng=AlwaysGold())
    RaterExclusion.objects.create(campaign=campaign, rater=r2)
    roster = {entry.username: entry for entry in campaign_roster(campaign=campaign)}
    assert set(roster) == {"u1", "u2"} and roster["u2"].excluded and not roster["u1"].excluded
    assert roster["u1"].in_pool and roster["u1"].last_rating is not None
    assert roster["u1"].uploaded_gold_total == roster["u2"].uploaded_gold_total == 1
    uploaded = campaign.comparisons.get(gold_uploaded=True)
    right = {"u1": uploaded.system_on_left == "a", "u2": uploaded.system_on_left == "a"}
    assert {name: entry.uploaded_gold_accuracy for name, entry in roster.items()} == {
        name: float(ok) for name, ok in right.items()
    }


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
    campaign = campaign_factory(name="goldpage", n_prompts=3, categories=["coding"])
    comparison = campaign.comparisons.first()
    url = f"/campaigns/{campaign.pk}/gold/"
    assert researcher_client.get(url).status_code == 200
    researcher_client.post(url, {"comparison": comparison.pk, "answer": "both_bad"})
    comparison.refresh_from_db()
    assert comparison.gold_answer == "both_bad"
    upload = io.BytesIO(b'{"prompt_id": "p002", "text_a": "right", "text_b": "wrong", "answer": "a"}\n')
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
    assert campaign.status == Campaign.Status.OPEN
