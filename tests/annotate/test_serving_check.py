"""`manage.py serving_check`: recounting serving's counters (issue 31) and naming any drift."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from annotate.assignment import item_next, rating_submit, rating_submit_and_serve
from annotate.models import Comparison, ServingTally
from annotate.serving_check import serving_drift
from annotate.serving_triggers import serving_triggers_ensure


def test_the_tallies_follow_a_campaign_built_rated_and_deleted(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=5, raters=[rater])
    assert sum(ServingTally.objects.filter(campaign=campaign).values_list("open_items", flat=True)) == 5
    item = item_next(campaign=campaign, rater=rater)
    assert item is not None
    rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
    assert sum(ServingTally.objects.filter(campaign=campaign).values_list("open_items", flat=True)) == 4
    Comparison.objects.filter(pk=item.pk).update(gold_answer="a")
    tally = ServingTally.objects.filter(campaign=campaign)
    assert sum(tally.values_list("gold_items", flat=True)) == 1
    campaign_id = campaign.pk
    campaign.delete()
    assert not ServingTally.objects.filter(campaign_id=campaign_id).exists()


def test_the_check_says_zero_drift_and_names_a_counter_that_drifted(campaign_factory, make_rater):
    campaign = campaign_factory(n_prompts=3, raters=[make_rater("r1")])
    out = io.StringIO()
    call_command("serving_check", stdout=out)
    assert out.getvalue().strip().endswith("drift=0")
    # A write behind the triggers' back (raw SQL leaves the tally as it was): the check names it.
    ServingTally.objects.filter(campaign=campaign).update(open_items=0)
    out = io.StringIO()
    with pytest.raises(CommandError, match="counters differ"):
        call_command("serving_check", "--campaign", campaign.name, stdout=out)
    assert "open items of slot" in out.getvalue()


def test_the_check_refuses_an_unknown_campaign_with_a_reason(db):
    with pytest.raises(CommandError, match="no campaign named 'nope'"):
        call_command("serving_check", "--campaign", "nope")


def test_a_worker_killed_mid_rating_leaves_the_counters_equal_to_a_recount(campaign_factory, make_rater):
    # A worker that dies inside the rating's transaction (here: an error after the rating was
    # stored and the next item leased) takes its counter changes with it, as the triggers write
    # in that transaction.
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=4, raters=[rater])
    item = item_next(campaign=campaign, rater=rater)
    assert item is not None
    before = list(
        ServingTally.objects.filter(campaign=campaign).order_by("slot").values_list("open_items", flat=True)
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        rating_submit_and_serve(campaign=campaign, rater=rater, token=item.token, side="left")
        raise RuntimeError("killed")
    after = list(
        ServingTally.objects.filter(campaign=campaign).order_by("slot").values_list("open_items", flat=True)
    )
    assert after == before
    assert serving_drift(campaigns=[campaign]) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite drops triggers when it rebuilds a table")
def test_triggers_lost_to_a_rebuilt_table_on_sqlite_are_created_again_after_migrate(db):
    def triggers() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND (name LIKE 'serving_tally_%' OR name LIKE 'settle_tally_%')"
            )
            return {row[0] for row in cursor.fetchall()}

    # Both migrations' triggers: the campaigns' tallies (0013) and the cells' (0018).
    expected = {
        f"{kind}_tally_{op}" for kind in ("serving", "settle") for op in ("insert", "delete", "update")
    }
    assert triggers() == expected
    with connection.cursor() as cursor:  # what SQLite's table rebuild does to them
        for name in expected:
            cursor.execute(f"DROP TRIGGER {name}")
    serving_triggers_ensure()
    assert triggers() == expected
