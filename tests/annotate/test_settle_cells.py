"""Stop-when-settled serving by cell (issue 31): each comparison's cell, the cells' counters, the cell pools."""

from __future__ import annotations

import importlib
import io
import random
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate import progress
from annotate.adaptive import open_cells_only
from annotate.assignment import RatingError, item_next, item_skip, rating_submit, rating_undo
from annotate.models import Campaign, Comparison, SequentialCell, SettleTally
from annotate.picking import _SHORTLIST
from annotate.services import campaign_rater_exclude, campaign_rater_include
from annotate.serving_check import serving_drift
from annotate.settle_cells import settle_cells_assign
from annotate.settling import campaign_settle_refresh
from tests.annotate.test_rater_pages import TRANSACTION_CONTROL
from tests.annotate.test_serving_pool import _plan
from tests.factories import login, post

# The pick's short list, as its SQL shows it (annotate.picking).
SHORTLIST_LIMIT = f"LIMIT {_SHORTLIST}"


def _settled(campaign_factory, raters, **kwargs) -> Campaign:
    campaign = campaign_factory(name="cells", raters=raters, stop_when_settled=True, **kwargs)
    campaign_settle_refresh(campaign_id=campaign.pk)  # the cells' figures: serving draws cells from now on
    return campaign


def _recount_equals_counters(campaign: Campaign, now) -> None:
    assert serving_drift(campaigns=[campaign], now=now) == []
    since = progress.undo_since(now)
    every = Comparison.objects.filter(campaign=campaign)
    for rater in campaign.raters.all():
        # The room over the open cells' items (and the checks); the rater's own counts over every cell.
        recount = progress.with_mine(open_cells_only(every, campaign=campaign), rater=rater).aggregate(
            **progress._counts(now=now, since=since, own=False)
        )
        own = progress.with_mine(every, rater=rater).aggregate(
            **progress._counts(now=now, since=since, own=True)
        )
        recount |= {name: own[name] for name in ("n", "n_gold", "recent")}
        assert progress.counted_figures(campaign=campaign, rater=rater, now=now, since=since) == recount


def test_each_comparison_of_a_settled_campaign_names_its_own_cell_and_the_cells_count_their_room(
    campaign_factory, make_rater
):
    campaign = campaign_factory(n_prompts=24, raters=[make_rater("r1")], stop_when_settled=True)
    cells = SequentialCell.objects.filter(campaign=campaign)
    # Two categories x three settings, made with the campaign, holding no refresh's figures yet.
    assert cells.count() == 6 and not cells.filter(share__gt=0).exists()
    for comparison in Comparison.objects.filter(campaign=campaign).select_related("cell", "prompt"):
        assert comparison.cell is not None
        assert (comparison.cell.system_a_id, comparison.cell.system_b_id) == (
            comparison.system_a_id,
            comparison.system_b_id,
        )
        assert (comparison.cell.category, comparison.cell.setting) == (
            comparison.prompt.category,
            comparison.prompt.setting,
        )
    assert sum(SettleTally.objects.filter(cell__campaign=campaign).values_list("open_items", flat=True)) == 24
    assert serving_drift(campaigns=[campaign]) == []
    # A campaign that does not stop when settled has no cells and counts nothing per cell.
    plain = campaign_factory(name="plain", n_prompts=6)
    assert not Comparison.objects.filter(campaign=plain, cell__isnull=False).exists()


def test_the_migration_fills_the_cells_of_a_campaign_built_before_it_as_the_build_does(
    campaign_factory, make_rater
):
    rater = make_rater("r1")
    campaign = _settled(campaign_factory, [rater], n_prompts=12)
    item = item_next(campaign=campaign, rater=rater)
    assert item is not None
    rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    other = Comparison.objects.filter(campaign=campaign).exclude(pk=item.pk).order_by("pk")[0]
    Comparison.objects.filter(pk=other.pk).update(gold_answer="a")
    cells = dict(Comparison.objects.filter(campaign=campaign).values_list("pk", "cell_id"))
    tallies = set(SettleTally.objects.values_list("cell_id", "slot", "open_items"))
    # As before migration 0018: no cell named, no counter (the refreshed cells stay).
    Comparison.objects.filter(campaign=campaign).update(cell=None)
    SettleTally.objects.all().delete()
    migration = importlib.import_module("annotate.migrations.0018_settle_cells")
    with connection.cursor() as cursor:
        for sql in migration.fill(campaign.pk):
            cursor.execute(sql)
    assert dict(Comparison.objects.filter(campaign=campaign).values_list("pk", "cell_id")) == cells
    assert set(SettleTally.objects.values_list("cell_id", "slot", "open_items")) == tallies
    settle_cells_assign(campaign=campaign)  # again: nothing changes
    assert set(SettleTally.objects.values_list("cell_id", "slot", "open_items")) == tallies
    assert serving_drift(campaigns=[campaign]) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_the_cell_counters_and_the_rater_progress_equal_a_recount_through_rating_undo_skip_exclusion_and_lease_expiry(
    campaign_factory, make_rater, monkeypatch, seed
):
    rng = random.Random(seed)
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = _settled(campaign_factory, raters, n_prompts=24, ratings_per_comparison=2)
    campaign.lease_seconds = 30
    campaign.save()
    Comparison.objects.filter(pk=campaign.comparisons.order_by("pk")[0].pk).update(gold_answer="b")
    cells = list(SequentialCell.objects.filter(campaign=campaign).order_by("pk"))
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    held: dict[int, str] = {}
    excluded: set[int] = set()
    for _ in range(90):
        rater = rng.choice(raters)
        roll = rng.random()
        try:
            if rater.pk in excluded and roll < 0.9:
                campaign_rater_include(campaign=campaign, user=rater)
                excluded.discard(rater.pk)
            elif roll < 0.35:
                item = item_next(campaign=campaign, rater=rater, now=clock[0])
                if item is not None:
                    held[rater.pk] = item.token
            elif roll < 0.65 and rater.pk in held:
                rating_submit(
                    campaign=campaign, rater=rater, token=held.pop(rater.pk), side="left", now=clock[0]
                )
            elif roll < 0.72 and rater.pk in held:
                item_skip(campaign=campaign, rater=rater, token=held.pop(rater.pk), now=clock[0])
            elif roll < 0.8:
                rating_undo(campaign=campaign, rater=rater, now=clock[0])
            elif roll < 0.84:
                campaign_rater_exclude(campaign=campaign, user=rater)
                excluded.add(rater.pk)
            elif roll < 0.92:
                clock[0] += timedelta(seconds=rng.choice([10, 40]))  # leases run out
            else:  # a cell closes, or one closed opens again, as a refresh would decide
                cell = rng.choice(cells)
                SequentialCell.objects.filter(pk=cell.pk).update(
                    closed_rule="" if rng.random() < 0.5 else "precise"
                )
        except RatingError:
            held.pop(rater.pk, None)
        _recount_equals_counters(campaign, clock[0])
        _recount_equals_counters(campaign, clock[0] + timedelta(minutes=5))


def test_serving_takes_the_drawn_cell_through_its_index_and_never_a_closed_one(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = _settled(campaign_factory, [rater], n_prompts=60)
    closed, *_open = SequentialCell.objects.filter(campaign=campaign).order_by("pk")
    SequentialCell.objects.filter(pk=closed.pk).update(closed_rule="precise")
    served: Counter[int] = Counter()
    for _ in range(12):
        with CaptureQueriesContext(connection) as captured:
            item = item_next(campaign=campaign, rater=rater)
        assert item is not None and item.cell_id is not None and item.cell_id != closed.pk
        served[item.cell_id] += 1
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    assert len(served) > 1
    statements = [q["sql"] for q in captured.captured_queries]
    pick = [
        sql
        for sql in statements
        if "annotate_comparison" in sql and SHORTLIST_LIMIT in sql and "cell_id" in sql
    ]
    assert pick, "\n".join(statements)
    assert "comparison_cell_pool" in _plan(pick[0])
    # No statement of the rating counts or sorts the campaign: progress reads the cell counters.
    assert any("annotate_settletally" in sql for sql in statements)


def test_a_settled_rating_with_the_next_item_costs_one_statement_more_than_a_plain_one_to_draw_the_cell(
    campaign_factory, make_rater, django_assert_max_num_queries
):
    rater = make_rater("r1")
    campaign = _settled(campaign_factory, [rater], n_prompts=24)
    client = login(rater)
    state = post(client, "api_next", campaign)
    for _ in range(3):
        # 9: those of a plain campaign (tests/annotate/test_rater_pages.py, 8) and the cells read to
        # draw one; the progress is one statement over the counters, as there (it took two, and the
        # draw a third beside the sort of the campaign: 10). The settling refresh is queued after
        # commit, outside the request's transaction.
        with django_assert_max_num_queries(11) as captured:
            state = post(
                client,
                "api_submit",
                campaign,
                {"token": state["item"]["token"], "side": "left", "next": True},
            )
        statements = [q["sql"] for q in captured.captured_queries if not TRANSACTION_CONTROL.match(q["sql"])]
        assert len(statements) <= 9, "\n".join(statements)
        assert state["created"] is True and state["item"] is not None


def test_before_its_first_refresh_a_settled_campaign_is_served_from_the_campaign_pool(
    campaign_factory, make_rater
):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=12, raters=[rater], stop_when_settled=True)
    with CaptureQueriesContext(connection) as captured:
        item = item_next(campaign=campaign, rater=rater)
    assert item is not None
    pick = [q["sql"] for q in captured.captured_queries if SHORTLIST_LIMIT in q["sql"]]
    assert pick and "comparison_pool" in _plan(pick[0])


def test_the_check_names_a_cell_counter_that_drifted_and_a_comparison_outside_its_cell(
    campaign_factory, make_rater
):
    campaign = campaign_factory(n_prompts=12, raters=[make_rater("r1")], stop_when_settled=True)
    out = io.StringIO()
    call_command("serving_check", "--campaign", campaign.name, stdout=out)
    assert out.getvalue().strip().endswith("drift=0")
    # Writes behind the triggers' back (an update of the counter, a comparison moved out of its cell).
    SettleTally.objects.filter(cell__campaign=campaign).update(open_items=0)
    Comparison.objects.filter(pk=campaign.comparisons.order_by("pk")[0].pk).update(cell=None)
    out = io.StringIO()
    with pytest.raises(CommandError, match="counters differ"):
        call_command("serving_check", "--campaign", campaign.name, stdout=out)
    assert "open items of cell" in out.getvalue()
    assert "comparisons outside their own cell is 1, recounted 0" in out.getvalue()


def test_a_settled_campaign_goes_with_its_cells_and_their_counters(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = _settled(campaign_factory, [rater], n_prompts=12)
    item = item_next(campaign=campaign, rater=rater)
    assert item is not None
    rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    campaign.delete()
    assert not SequentialCell.objects.exists() and not SettleTally.objects.exists()
    assert not Comparison.objects.exists()
