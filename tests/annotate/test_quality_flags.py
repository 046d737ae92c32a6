# mypy: disable-error-code="union-attr,index,arg-type"
"""Rater quality flags: the pure rule, exhaustively, then crafted ratings through the selector and the page."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from scipy.stats import binomtest

from annotate.assignment import item_next, rating_submit
from annotate.models import Assignment, Campaign, Comparison, RaterExclusion, Rating
from annotate.quality_flags import (
    GOLD,
    ONE_SIDED,
    ONE_SIDED_ALPHA,
    ONE_SIDED_MIN_DECISIVE,
    REASON_MAX_CHARS,
    TOO_FAST,
    Flag,
    FlagThresholds,
    RaterNumbers,
    exclusion_reason,
    left_share_p_value,
    rater_flags,
)
from annotate.recruiting.models import CampaignRecruiting, PracticeAnswer, PracticeItem
from annotate.services import gold_upload
from reports.campaign_quality import campaign_rater_flags
from reports.campaign_records import campaign_rating_records
from tests.annotate.conftest import AlwaysGold

T = FlagThresholds(min_seconds=2.0, gold_accuracy_min=0.6)


def numbers(**kw: object) -> RaterNumbers:
    base = dict(
        ratings=30, median_seconds=5.0, too_fast=0, decisive=30, left=15, gold_total=0, gold_correct=0
    )
    base.update(kw)
    return RaterNumbers(**base)  # type: ignore[arg-type]


def codes(flags: list[Flag]) -> list[str]:
    return [flag.code for flag in flags]


# --- the pure rule ---------------------------------------------------------------------------------


def test_a_balanced_careful_rater_has_no_flag():
    assert rater_flags(numbers(), T) == []


@pytest.mark.parametrize(
    ("median", "min_seconds", "flagged"),
    [
        (1.0, 2.0, True),
        (1.99, 2.0, True),
        (2.0, 2.0, False),
        (8.0, 2.0, False),
        (0.5, 0.0, False),
        (None, 2.0, False),
    ],
)
def test_too_fast_is_a_median_strictly_below_the_minimum_and_off_at_zero(median, min_seconds, flagged):
    flags = rater_flags(numbers(median_seconds=median, too_fast=7), FlagThresholds(min_seconds, 0.6))
    assert (TOO_FAST in codes(flags)) is flagged
    if flagged:
        assert flags[0].value == f"median {median:.1f} s per rating, 7 of 30 ratings under {min_seconds:g} s"
        assert f"{min_seconds:g} s minimum" in flags[0].rule


def test_one_sided_agrees_with_scipys_exact_test_for_every_count_from_1_to_40():
    for decisive in range(1, 41):
        for left in range(decisive + 1):
            flags = rater_flags(numbers(decisive=decisive, left=left, ratings=decisive), T)
            p = binomtest(left, decisive, 0.5).pvalue
            expected = decisive >= ONE_SIDED_MIN_DECISIVE and bool(p < ONE_SIDED_ALPHA)
            assert (ONE_SIDED in codes(flags)) is expected, (left, decisive)


def test_always_left_is_flagged_from_20_decisive_votes_not_at_19():
    assert ONE_SIDED_MIN_DECISIVE == 20
    assert codes(rater_flags(numbers(decisive=19, left=19), T)) == []
    flags = rater_flags(numbers(decisive=20, left=20), T)
    assert codes(flags) == [ONE_SIDED]
    assert flags[0].value == "left in 20 of 20 decisive votes (100 %), p = 1.9e-06"
    assert "p < 0.01" in flags[0].rule and "from 20 decisive votes" in flags[0].rule
    # Always right is as one-sided as always left.
    assert codes(rater_flags(numbers(decisive=25, left=0), T)) == [ONE_SIDED]


def test_the_stated_level_is_the_one_applied():
    # 16 of 20: p = 0.0118, above 0.01 but below 0.05.
    assert 0.01 < left_share_p_value(left=16, decisive=20) < 0.05
    assert codes(rater_flags(numbers(decisive=20, left=16), T)) == []
    loose = FlagThresholds(min_seconds=2.0, gold_accuracy_min=0.6, alpha=0.05)
    assert codes(rater_flags(numbers(decisive=20, left=16), loose)) == [ONE_SIDED]


@pytest.mark.parametrize(
    ("correct", "total", "flagged"), [(0, 4, True), (2, 4, True), (3, 5, False), (5, 5, False), (0, 0, False)]
)
def test_gold_below_the_threshold_is_flagged_with_its_counts(correct, total, flagged):
    flags = rater_flags(numbers(gold_total=total, gold_correct=correct), T)
    assert (GOLD in codes(flags)) is flagged
    if flagged:
        assert flags[0].value == f"{correct} of {total} gold checks right ({100 * correct / total:.0f} %)"
        assert "60 % threshold" in flags[0].rule


def test_every_combination_of_the_three_flags_comes_in_a_fixed_order():
    for fast, sided, gold in itertools.product((False, True), repeat=3):
        flags = rater_flags(
            numbers(
                median_seconds=1.0 if fast else 5.0,
                left=30 if sided else 15,
                gold_total=5,
                gold_correct=1 if gold else 5,
            ),
            T,
        )
        expected = [c for c, on in ((TOO_FAST, fast), (ONE_SIDED, sided), (GOLD, gold)) if on]
        assert codes(flags) == expected


def test_the_reason_joins_the_flags_and_fits_the_field():
    flags = rater_flags(numbers(median_seconds=1.0, left=30, gold_total=5, gold_correct=0), T)
    reason = exclusion_reason(flags)
    assert reason.count("; ") == 2 and reason.startswith("Too fast: median 1.0 s")
    long = [Flag(code="x", label="L", value="v" * 400, rule="r")] * 3
    assert len(exclusion_reason(long)) == REASON_MAX_CHARS
    assert exclusion_reason([]) == ""


@pytest.mark.parametrize(
    "bad",
    [dict(left=31), dict(gold_correct=3, gold_total=2), dict(too_fast=-1), dict(decisive=-1, left=-1)],
)
def test_impossible_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        rater_flags(numbers(**bad), T)


@pytest.mark.parametrize(
    "thresholds",
    [
        FlagThresholds(-1, 0.6),
        FlagThresholds(2, 1.5),
        FlagThresholds(2, 0.6, alpha=0),
        FlagThresholds(2, 0.6, min_decisive=0),
    ],
)
def test_thresholds_out_of_range_are_refused(thresholds):
    with pytest.raises(ValueError):
        rater_flags(numbers(), thresholds)


# --- crafted ratings through the selector ----------------------------------------------------------


def rate_by(
    campaign: Campaign,
    rater,
    choose: Callable[[Comparison, int], str],
    *,
    seconds: float = 4.0,
    n: int = 100,
    rng=None,
    comment: Callable[[Comparison, int], str] | None = None,
) -> int:
    """Rate what the rater is served; ``choose`` sees the served comparison (gold or not) and its number."""
    # The server bounds the claimed seconds by the time since serving, so the clock moves with them.
    clock = timezone.now()
    for number in range(n):
        item = item_next(campaign=campaign, rater=rater, rng=rng, now=clock)
        if item is None:
            return number
        clock += timedelta(seconds=seconds)
        rating_submit(
            campaign=campaign,
            rater=rater,
            token=item.token,
            side=choose(item, number),
            seconds=seconds,
            now=clock,
            comment=comment(item, number) if comment else "",
        )
    return n


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
        comparison.gold_answer = comparison.left
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
        Assignment.objects.filter(rater=rating.rater, comparison=rating.comparison).update(
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
    campaign = campaign_factory(name="uploaded", n_prompts=6, gold_fraction=0.5, raters=[rater])
    lines = [
        json.dumps({"prompt_id": f"p{i:03d}", "text_a": "good", "text_b": "bad", "answer": "a"})
        for i in range(3)
    ]
    gold_upload(campaign=campaign, data="\n".join(lines).encode())

    def wrong_on_gold(item: Comparison, n: int) -> str:
        # The uploaded pair's answer is text a: the wrong side is wherever b is shown.
        return ("right" if item.left == "a" else "left") if item.gold_uploaded else "tie"

    rate_by(campaign, rater, wrong_on_gold, rng=AlwaysGold())
    answered = Rating.objects.filter(campaign=campaign, rater=rater, comparison__gold_uploaded=True).count()
    assert answered == 3
    flags = flags_of(campaign)["q-upload"]
    assert codes(flags) == [GOLD]
    assert flags[0].value == "0 of 3 gold checks right (0 %)"


@pytest.mark.django_db
def test_a_rater_who_answered_only_uploaded_gold_is_still_flagged(campaign_factory, make_rater):
    rater = make_rater("q-only-gold")
    campaign = campaign_factory(name="only-gold", n_prompts=2, gold_fraction=0.5, raters=[rater])
    gold_upload(
        campaign=campaign,
        data=json.dumps({"prompt_id": "p000", "text_a": "good", "text_b": "bad", "answer": "a"}).encode(),
    )
    rate_by(campaign, rater, lambda item, n: "right" if item.left == "a" else "left", n=1, rng=AlwaysGold())
    assert Rating.objects.get(rater=rater).comparison.gold_uploaded
    assert flags_of(campaign)["q-only-gold"][0].value == "0 of 1 gold checks right (0 %)"
