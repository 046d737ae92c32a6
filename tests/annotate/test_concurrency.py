"""Many raters at once: nothing over-rated, nothing rated twice by one rater, nothing lost."""

from __future__ import annotations

import io
import threading
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, connections

from annotate.assignment import RatingError, item_next, rating_submit, rating_submit_and_serve
from annotate.models import Campaign, Rating
from annotate.services import campaign_create, campaign_status_set
from core.users import user_create
from tests.factories import make_eval_set, make_system


def build(n_prompts: int, n_raters: int) -> tuple[Campaign, list[User]]:
    raters = [user_create(username=f"load-{i:02d}", role="rater") for i in range(n_raters)]
    eval_set = make_eval_set(name="load", n_prompts=n_prompts)
    make_system("load-a", eval_set)
    make_system("load-b", eval_set)
    campaign = campaign_create(
        name="load",
        eval_set=eval_set,
        systems=["load-a", "load-b"],
        ratings_per_comparison=2,
        overlap=0.25,
        raters=raters,
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign, raters


def hammer(
    campaign: Campaign, raters: list[User], *, together: bool = False
) -> tuple[Counter, list[BaseException]]:
    """Raters in threads. `together`: as the rating page does, one call stores a rating and leases the
    next item (`rating_submit_and_serve`), and a double click resends that call."""
    created: Counter[int] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(raters))

    def work(rater: User) -> None:
        try:
            start.wait()
            item = item_next(campaign=campaign, rater=rater)
            for _ in range(1000):
                if item is None:
                    return
                if together:
                    shown = None
                    for _ in range(2 if item.order_key % 4 == 0 else 1):
                        rating, was_created, nxt, _progress = rating_submit_and_serve(
                            campaign=campaign, rater=rater, token=item.token, side="left"
                        )
                        if was_created:
                            with lock:
                                created[rating.pk] += 1
                        # A resent call is answered with the item the first one leased.
                        token = nxt.token if nxt else None
                        assert shown is None or token == shown, "a resent call moved the rater on"
                        shown = token
                    item = nxt
                    continue
                # Every fourth item is sent twice, as a double click would.
                for _ in range(2 if item.order_key % 4 == 0 else 1):
                    rating, was_created = rating_submit(
                        campaign=campaign, rater=rater, token=item.token, side="left"
                    )
                    if was_created:
                        with lock:
                            created[rating.pk] += 1
                item = item_next(campaign=campaign, rater=rater)
        except (RatingError, Exception) as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(r,)) for r in raters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    return created, errors


def check(campaign: Campaign, created: Counter, errors: list[BaseException]) -> None:
    assert errors == []
    ratings = list(Rating.objects.filter(campaign=campaign).values_list("pk", "rater_id", "comparison_id"))
    # No rating lost: every rating a rater was told is stored is there, once.
    assert set(created) == {pk for pk, _, _ in ratings} and all(n == 1 for n in created.values())
    # No rater rated a comparison twice.
    assert len({(r, c) for _, r, c in ratings}) == len(ratings)
    # No comparison got more than it needs, and with enough raters every one got what it needs.
    per_comparison = Counter(c for _, _, c in ratings)
    for comparison in campaign.comparisons.all():
        assert per_comparison[comparison.pk] == comparison.needed
    # Serving's counters (issue 31) equal a recount of the rows, as the operator's check reports it.
    out = io.StringIO()
    call_command("serving_check", "--campaign", campaign.name, stdout=out)
    assert out.getvalue().strip().endswith("drift=0")


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_fifty_raters_in_threads_on_postgresql_never_over_rate_or_lose_a_rating(transactional_db):
    campaign, raters = build(n_prompts=200, n_raters=50)
    created, errors = hammer(campaign, raters)
    check(campaign, created, errors)
    assert len(created) == sum(campaign.comparisons.values_list("needed", flat=True)) > 400


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_fifty_raters_through_the_pages_one_call_per_rating_on_postgresql(transactional_db):
    campaign, raters = build(n_prompts=200, n_raters=50)
    created, errors = hammer(campaign, raters, together=True)
    check(campaign, created, errors)
    assert len(created) == sum(campaign.comparisons.values_list("needed", flat=True)) > 400


def _sqlite_file_db() -> bool:
    name = connection.settings_dict.get("TEST", {}).get("NAME")
    return (
        connection.vendor == "sqlite"
        and bool(name)
        and ":memory:" not in str(name)
        and "mode=memory" not in str(name)
    )


# pytest-django's SQLite test database lives in shared-cache memory, where concurrent writers get
# "table is locked" at once instead of waiting; the served site uses a WAL file with IMMEDIATE
# transactions, which bench/rating_load.py exercises under load.
@pytest.mark.skipif(not _sqlite_file_db(), reason="needs a file-backed SQLite test database")
def test_raters_in_threads_on_sqlite_never_over_rate_or_lose_a_rating(transactional_db):
    campaign, raters = build(n_prompts=30, n_raters=6)
    created, errors = hammer(campaign, raters)
    check(campaign, created, errors)


@pytest.mark.skipif(not _sqlite_file_db(), reason="needs a file-backed SQLite test database")
def test_raters_through_the_pages_one_call_per_rating_on_sqlite(transactional_db):
    campaign, raters = build(n_prompts=30, n_raters=6)
    created, errors = hammer(campaign, raters, together=True)
    check(campaign, created, errors)
