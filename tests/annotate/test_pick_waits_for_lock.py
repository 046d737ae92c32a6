"""A rater is not told "nothing left" because the last item with room is locked for a moment (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from annotate.assignment import item_next
from annotate.models import Comparison
from core.users import user_create
from tests.factories import make_campaign

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's")


def _hold_lock(comparison_id: int, locked: threading.Event, seconds: float) -> None:
    """Another rater's transaction on the item (leasing or rating it): its row locked, then committed."""
    try:
        with transaction.atomic():
            Comparison.objects.select_for_update().get(pk=comparison_id)
            locked.set()
            time.sleep(seconds)
    finally:
        connections.close_all()


@pytest.mark.parametrize(("held_for", "served"), [(0.05, True), (1.0, False)])
def test_the_last_item_with_room_is_served_once_its_lock_is_free(transactional_db, held_for, served):
    rater = user_create(username="waits", role="rater")
    campaign = make_campaign(name="last-item", n_prompts=1, ratings_per_comparison=2, raters=[rater])
    item = Comparison.objects.get(campaign=campaign)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(item.pk, locked, held_for))
    holder.start()
    assert locked.wait(10)
    got = item_next(campaign=campaign, rater=rater)
    holder.join()
    # Skipping the locked row told the rater there was nothing left, though the item still has room.
    # A lock held past the wait (200 ms) gives up as before: no error, nothing served.
    assert (got is not None and got.pk == item.pk) if served else got is None


def test_the_pick_looks_again_for_the_locked_item_without_ever_waiting_on_its_lock(transactional_db):
    # The rater's transaction holds the item it just rated: waiting on another row's lock there could
    # close a cycle with raters waiting on that item, which PostgreSQL breaks by failing a rating.
    rater = user_create(username="polls", role="rater")
    campaign = make_campaign(name="last-locked", n_prompts=1, ratings_per_comparison=2, raters=[rater])
    item = Comparison.objects.get(campaign=campaign)
    locked, done = threading.Event(), threading.Event()
    waits: list[int] = []

    def hold_and_watch() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                Comparison.objects.select_for_update().get(pk=item.pk)
                locked.set()
                while not done.is_set():
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    waits.append(cursor.fetchone()[0])
                    time.sleep(0.005)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_and_watch)
    holder.start()
    assert locked.wait(10)
    started = time.monotonic()
    got = item_next(campaign=campaign, rater=rater)
    looked = time.monotonic() - started
    done.set()
    holder.join()
    assert got is None and looked >= 0.15  # it looked again for the whole wait, then gave up
    assert len(waits) > 10 and max(waits) == 0
