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
