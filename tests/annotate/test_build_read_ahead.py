"""A build reads its answers ahead on a second connection where that reads the same rows (issue 31).

annotate.services.read_ahead: the reader thread only reads pages; the building thread makes every row
and every draw, so a seeded build is the same either way.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from annotate.models import Campaign
from annotate.services import building, campaign_create
from annotate.services.read_ahead import answers_readable_elsewhere, read_ahead_pages
from tests.annotate.test_bulk_build import CASES, _built_rows, _mixed_set, _reference_rows
from tests.factories import make_eval_set

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reading ahead needs a second PostgreSQL connection"
)


def test_pages_come_in_order_from_another_thread():
    threads: list[str] = []

    def pages() -> Iterator[int]:
        for i in range(7):
            threads.append(threading.current_thread().name)
            yield i

    assert list(read_ahead_pages(pages())) == list(range(7))
    assert set(threads) == {"build-read-ahead"}


def test_an_error_while_reading_is_raised_to_the_builder():
    def pages() -> Iterator[int]:
        yield 1
        raise RuntimeError("the answers went away")

    got = []
    with pytest.raises(RuntimeError, match="the answers went away"):
        for page in read_ahead_pages(pages()):
            got.append(page)
    assert got == [1]


def test_a_builder_that_stops_early_stops_the_reader():
    for page in read_ahead_pages(itertools.count()):
        if page == 3:
            break
    # The generator was closed on leaving the loop: its reader joined, none left running.
    assert not [t for t in threading.enumerate() if t.name == "build-read-ahead"]


@pytest.mark.django_db
def test_a_transaction_that_wrote_does_not_read_ahead():
    # What this transaction wrote (here, the set) another connection cannot see yet.
    make_eval_set(name="unseen", n_prompts=2)
    assert answers_readable_elsewhere() is False


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_build_read_ahead_gives_the_rows_the_old_build_gave(monkeypatch):
    eval_set = _mixed_set()
    assert answers_readable_elsewhere() is True
    monkeypatch.setattr(building, "_FETCH", 4)  # several pages through the reader
    used = []
    real = building.read_ahead_pages

    def counted(pages):  # type: ignore[no-untyped-def]
        used.append(1)
        return real(pages)

    monkeypatch.setattr(building, "read_ahead_pages", counted)
    options = dict(CASES["all pairs, overlap, two ratings each, every turn"])
    campaign = campaign_create(name="ahead", eval_set=eval_set, **options)
    assert used, "the build did not read ahead"
    assert _built_rows(campaign) == _reference_rows(campaign, seed=options["seed"])
    assert Campaign.objects.filter(name="ahead").exists()
