# mypy: disable-error-code="union-attr,index,arg-type"
"""Rater quality flags from crafted ratings, through the selector (reports.rater_flags) and the page."""

from __future__ import annotations

import json

import pytest

from analysis.quality_flags import (
    GOLD,
    ONE_SIDED,
    TOO_FAST,
    Flag,
)
from annotate.models import Campaign, Comparison, Lease, RaterExclusion, Rating
from annotate.recruiting_models import CampaignRecruiting, PracticeAnswer, PracticeItem
from annotate.services import gold_upload
from reports.campaign_records import campaign_rating_records
from reports.rater_flags import campaign_rater_flags
from tests.analysis.test_quality_flags import codes
from tests.factories import AlwaysGold, rate_by


def gold_right(item: Comparison) -> str:
    # Gold answers below are the system shown on the left.
    return "left"


@pytest.fixture
def crafted(campaign_factory, make_rater):
    """Five raters on 24 comparisons (4 of them gold, answered by the system shown on the left)."""
    names = ["fast", "left24", "left19", "goldfail", "normal"]
    raters = {name: make_rater(f"q-{name}") for name in names}
    campaign = campaign_factory(
        name="quality",
        n_prompts=24,
        ratings_per_comparison=6,
        overlap=1.0,
        gold_fraction=0.2,
        raters=list(raters.values()),
    )
    for comparison in campaign.comparisons.order_by("pk")[:4]:
        comparison.gold_answer = comparison.system_on_left
        comparison.save(update_fields=["gold_answer"])

    def balanced(item: Comparison, number: int) -> str:
        return gold_right(item) if item.gold_answer else ("left", "right")[number % 2]

    rate_by(campaign, raters["fast"], balanced, seconds=1.0)
    rate_by(campaign, raters["left24"], lambda item, n: "left")
    rate_by(campaign, raters["left19"], lambda item, n: "left", n=19)
    rate_by(
        campaign,
        raters["goldfail"],
        lambda item, n: "right" if item.gold_answer else "tie",
        n=10,
        rng=AlwaysGold(),
    )
    rate_by(campaign, raters["normal"], balanced)
    # A practice round answered all wrong by the normal rater: practice never counts.
    item = PracticeItem.objects.create(campaign=campaign, prompt_text="p", text_a="a", text_b="b", answer="a")
    PracticeAnswer.objects.create(item=item, rater=raters["normal"], side="right", choice="b", correct=False)
    return campaign, raters


def flags_of(campaign: Campaign) -> dict[str, list[Flag]]:
    records = campaign_rating_records(campaign=campaign, include_excluded_raters=True)
    return campaign_rater_flags(campaign=campaign, records=records)[1]


@pytest.mark.django_db
def test_crafted_raters_are_each_flagged_with_the_right_number(crafted):
    campaign, raters = crafted
    flags = flags_of(campaign)
    ratings = {name: Rating.objects.filter(campaign=campaign, rater=user) for name, user in raters.items()}

    fast = flags["q-fast"]
    n_fast = ratings["fast"].count()
    assert codes(fast) == [TOO_FAST]
    assert fast[0].value == f"median 1.0 s per rating, {n_fast} of {n_fast} ratings under 2 s"

    n_left = ratings["left24"].count()
    assert n_left >= 20
    one_sided = flags["q-left24"]
    assert codes(one_sided) == [ONE_SIDED]
    assert one_sided[0].value.startswith(f"left in {n_left} of {n_left} decisive votes (100 %)")

    assert ratings["left19"].count() == 19
    assert flags["q-left19"] == [], "19 decisive votes are too few to test"

    gold_seen = ratings["goldfail"].filter(comparison__gold_answer__isnull=False).count()
    assert gold_seen >= 1
    assert codes(flags["q-goldfail"]) == [GOLD]
    assert flags["q-goldfail"][0].value == f"0 of {gold_seen} gold checks right (0 %)"

    assert flags["q-normal"] == [], "a balanced, careful rater whose practice went wrong is not flagged"


@pytest.mark.django_db
def test_the_gold_threshold_is_the_campaigns_recruiting_setting(crafted):
    campaign, _ = crafted
    CampaignRecruiting.objects.create(campaign=campaign, gold_accuracy_min=0.0)
    assert GOLD not in codes(flags_of(campaign)["q-goldfail"])
    campaign.min_seconds = 0.5
    campaign.save(update_fields=["min_seconds"])
    assert flags_of(campaign)["q-fast"] == []


@pytest.mark.django_db
def test_gold_is_scored_on_the_first_answer_so_undo_cannot_repair_it(crafted):
    campaign, raters = crafted
    # As if the rater undid and re-answered every gold check correctly: undo keeps the first answer
    # on the lease (as rating_undo does), and the new rating is right.
    checks = Rating.objects.filter(
        campaign=campaign, rater=raters["goldfail"], comparison__gold_answer__isnull=False
    )
    for rating in checks:
        Lease.objects.filter(rater=rating.rater, comparison=rating.comparison).update(
            first_choice=rating.choice
        )
    checks.update(choice="a", side="left")
    assert codes(flags_of(campaign)["q-goldfail"]) == [GOLD]


@pytest.mark.django_db
def test_an_excluded_rater_keeps_their_flags_on_the_page(crafted, researcher_client):
    campaign, raters = crafted
    RaterExclusion.objects.create(campaign=campaign, rater=raters["left24"], reason="x")
    page = researcher_client.get(f"/campaigns/{campaign.pk}/")
    shown = {r.username: codes(list(r.flags)) for r in page.context["raters"]}
    assert shown["q-left24"] == [ONE_SIDED]
    assert shown["q-fast"] == [TOO_FAST] and shown["q-normal"] == []


@pytest.mark.django_db
def test_uploaded_gold_counts_with_marked_gold_as_the_roster_scores_it(campaign_factory, make_rater):
    rater = make_rater("q-upload")
    campaign = campaign_factory(
        name="uploaded", n_prompts=6, gold_fraction=0.5, raters=[rater], categories=["coding"]
    )
    lines = [
        json.dumps({"prompt_id": f"p{i:03d}", "text_a": "good", "text_b": "bad", "answer": "a"})
        for i in (0, 2, 4)  # the writing prompts, which the campaign does not rate
    ]
    gold_upload(campaign=campaign, data="\n".join(lines).encode())

    def wrong_on_gold(item: Comparison, n: int) -> str:
        # The uploaded pair's answer is text a: the wrong side is wherever b is shown.
        return ("right" if item.system_on_left == "a" else "left") if item.gold_uploaded else "tie"

    rate_by(campaign, rater, wrong_on_gold, rng=AlwaysGold())
    answered = Rating.objects.filter(campaign=campaign, rater=rater, comparison__gold_uploaded=True).count()
    assert answered == 3
    flags = flags_of(campaign)["q-upload"]
    assert codes(flags) == [GOLD]
    assert flags[0].value == "0 of 3 gold checks right (0 %)"


@pytest.mark.django_db
def test_a_rater_who_answered_only_uploaded_gold_is_still_flagged(campaign_factory, make_rater):
    rater = make_rater("q-only-gold")
    campaign = campaign_factory(
        name="only-gold", n_prompts=2, gold_fraction=0.5, raters=[rater], categories=["coding"]
    )
    gold_upload(
        campaign=campaign,
        data=json.dumps({"prompt_id": "p000", "text_a": "good", "text_b": "bad", "answer": "a"}).encode(),
    )
    rate_by(
        campaign,
        rater,
        lambda item, n: "right" if item.system_on_left == "a" else "left",
        n=1,
        rng=AlwaysGold(),
    )
    assert Rating.objects.get(rater=rater).comparison.gold_uploaded
    assert flags_of(campaign)["q-only-gold"][0].value == "0 of 1 gold checks right (0 %)"
