"""Stop when settled with three systems: serving draws the least certain Bradley-Terry pairs, end to end."""

from __future__ import annotations

import random
from collections import Counter

import pytest

import annotate.adaptive
from analysis.pair_weights import pair_weights
from annotate.adaptive import draw_cell
from annotate.models import Campaign, Comparison, RaterExclusion, Rating, SequentialCell
from annotate.settling import campaign_settle_refresh, settling_records
from reports.campaign_records import campaign_rating_records
from tests.factories import login, post, served_item

SYSTEMS = ("sys-a", "sys-b", "sys-c")


def pair_of(comparison: Comparison) -> tuple[str, str]:
    assert comparison.system_a is not None and comparison.system_b is not None  # not a gold upload
    return (comparison.system_a.name, comparison.system_b.name)


def prior_ratings(campaign: Campaign, raters, pair: tuple[str, str]) -> int:
    """Each prior rater rates every comparison of ``pair`` once: every item (so every cell) split evenly."""
    made = 0
    comparisons = Comparison.objects.filter(
        campaign=campaign, system_a__name=pair[0], system_b__name=pair[1], gold_answer__isnull=True
    ).order_by("pk")
    for index, rater in enumerate(raters):
        for number, comparison in enumerate(comparisons):
            choice = "ab"[(number + index) % 2]
            side = "left" if comparison.system_on_left == choice else "right"
            Rating.objects.create(
                comparison=comparison, campaign=campaign, rater=rater, choice=choice, side=side, seconds=5
            )
            made += 1
    return made


@pytest.fixture
def three_systems(campaign_factory, make_rater):
    rater = make_rater("bt-rater")
    prior = [make_rater(f"bt-prior-{i}") for i in range(4)]
    campaign = campaign_factory(
        name="bt",
        n_prompts=60,
        systems=SYSTEMS,
        raters=[rater, *prior],
        ratings_per_comparison=5,
        stop_when_settled=True,
        seed=3,
    )
    return campaign, rater, prior


def test_refresh_stores_each_pairs_uncertainty(three_systems) -> None:
    campaign, _rater, prior = three_systems
    prior_ratings(campaign, prior, ("sys-a", "sys-b"))
    campaign_settle_refresh(campaign_id=campaign.pk)
    se = {
        (c.system_a.name, c.system_b.name): c.pair_se
        for c in SequentialCell.objects.filter(campaign=campaign).select_related("system_a", "system_b")
    }
    assert len(se) == 3 and all(v is not None for v in se.values())
    assert SequentialCell.objects.filter(campaign=campaign, closed_rule="").count() == 18  # all open
    # 240 ratings of a vs b, split evenly: about the binomial error 0.5 / sqrt(240); c never compared.
    assert se[("sys-a", "sys-b")] == pytest.approx(0.5 / 240**0.5, rel=0.02)
    assert se[("sys-a", "sys-c")] == se[("sys-b", "sys-c")] == 0.5
    # With no open cell there is nothing to draw.
    SequentialCell.objects.filter(campaign=campaign).update(closed_rule="precise")
    assert draw_cell(campaign=campaign, rng=random.Random(0)) is None


def test_two_systems_store_no_pair_uncertainty(campaign_factory) -> None:
    campaign = campaign_factory(name="bt-two", n_prompts=12, stop_when_settled=True)
    campaign_settle_refresh(campaign_id=campaign.pk)
    assert SequentialCell.objects.filter(campaign=campaign).count() == 6
    assert not SequentialCell.objects.filter(campaign=campaign, pair_se__isnull=False).exists()


def test_served_items_come_mostly_from_the_uncertain_pairs(
    transactional_db, settle_eagerly, three_systems, monkeypatch
) -> None:
    campaign, rater, prior = three_systems
    prior_ratings(campaign, prior, ("sys-a", "sys-b"))  # a vs b: certain (240 ratings), still open
    campaign_settle_refresh(campaign_id=campaign.pk)
    monkeypatch.setattr(annotate.adaptive, "_rng", random.Random(17))
    choices = random.Random(5)
    client = login(rater)
    served: Counter[tuple[str, str]] = Counter()
    state = post(client, "api_next", campaign)
    for _ in range(100):
        assert state.get("item"), state
        comparison = served_item(client, state["item"]["token"])
        served[pair_of(comparison)] += 1
        body = {
            "token": state["item"]["token"],
            "side": choices.choice(["left", "right"]),
            "seconds": 5,
            "next": True,
        }
        state = post(client, "api_submit", campaign, body)
    assert sum(served.values()) == 100
    # Uniform serving would give the certain pair a third (about 33 of 100); the floor still gives it
    # some (20 % spread over three pairs: about 7), the uncertainty-driven part very little.
    assert 1 <= served[("sys-a", "sys-b")] <= 18, served
    assert served[("sys-a", "sys-c")] >= 30 and served[("sys-b", "sys-c")] >= 30, served
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN  # a no-preference stream settles nothing here
    # Settling kept up: every rating is in the cells and the fit.
    cells = SequentialCell.objects.filter(campaign=campaign)
    assert sum(c.ratings for c in cells) == Rating.objects.filter(campaign=campaign).count() == 340


def test_pairs_are_drawn_by_their_bradley_terry_uncertainty_not_cell_widths(three_systems) -> None:
    campaign, _rater, _prior = three_systems
    campaign_settle_refresh(campaign_id=campaign.pk)  # 18 cells, all [0, 1], all pairs unrated
    cells = SequentialCell.objects.filter(campaign=campaign).select_related("system_a", "system_b")
    ids = {c.system_a.name: c.system_a_id for c in cells} | {c.system_b.name: c.system_b_id for c in cells}
    ab = (ids["sys-a"], ids["sys-b"])
    # Equal cell widths everywhere; only the stored pair uncertainty says a vs b is settled.
    cells.filter(system_a_id=ab[0], system_b_id=ab[1]).update(pair_se=0.01, ratings=50)
    cells.exclude(system_a_id=ab[0], system_b_id=ab[1]).update(pair_se=0.2, ratings=2)
    rng = random.Random(1)
    drawn = Counter(draw_cell(campaign=campaign, rng=rng)[0][:2] for _ in range(600))  # type: ignore[index]
    expected = pair_weights([0.01, 0.2, 0.2], [50 * 6, 2 * 6, 2 * 6])[0]
    assert drawn[ab] / 600 == pytest.approx(expected, abs=0.03) and expected < 0.1  # cell widths: 1/3
    # A closed pair's cells are never drawn; the others share the draws.
    cells.filter(system_a_id=ab[0], system_b_id=ab[1]).update(closed_rule="precise")
    assert all(draw_cell(campaign=campaign, rng=rng)[0][:2] != ab for _ in range(50))  # type: ignore[index]


def _rated_with_a_check_and_an_exclusion(three_systems) -> Campaign:
    """Four raters on a vs c, one item made a gold check and one rater excluded: neither is counted."""
    campaign, _rater, prior = three_systems
    prior_ratings(campaign, prior, ("sys-a", "sys-c"))
    gold = Comparison.objects.filter(
        campaign=campaign, system_a__name="sys-a", system_b__name="sys-c"
    ).first()
    assert gold is not None
    Comparison.objects.filter(pk=gold.pk).update(gold_answer="a")
    RaterExclusion.objects.create(campaign=campaign, rater=prior[1], reason="test")
    return campaign


def test_the_lean_read_counts_what_the_report_counts(three_systems) -> None:
    campaign = _rated_with_a_check_and_an_exclusion(three_systems)
    lean = [r.contract_dict() for r in settling_records(campaign=campaign)]
    full = [r.contract_dict() for r in campaign_rating_records(campaign=campaign, exclude_gold=True)]
    assert lean == full and len(lean) == 3 * 59  # three raters counted, on the 59 regular items
    assert Rating.objects.filter(campaign=campaign).count() == 4 * 60


def test_the_campaign_pages_one_read_gives_the_sequential_view_the_lean_read_gives(three_systems) -> None:
    from annotate.settling import campaign_settling_view
    from reports.campaign_stats import campaign_counted_columns

    campaign = _rated_with_a_check_and_an_exclusion(three_systems)
    columns = campaign_counted_columns(campaign=campaign)
    # The same ratings in the same order (the columns keep no time text: the order is the time's).
    lean = [r.contract_dict() | {"created": ""} for r in settling_records(campaign=campaign)]
    assert [r.contract_dict() | {"created": ""} for r in columns.to_records()] == lean and len(lean) == 3 * 59
    view = campaign_settling_view(campaign=campaign, columns=columns)
    assert view == campaign_settling_view(campaign=campaign) and view["blocks"]
