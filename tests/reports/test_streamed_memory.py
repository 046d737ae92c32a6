"""A download of 200,000 ratings streams in bounded memory, and sends the bytes the list-based export makes.

Memory is the process's peak resident set (Linux: VmHWM, reset through /proc/self/clear_refs), so it
counts SQLite's and pyarrow's allocations too; where that cannot be reset, tracemalloc's peak (Python
allocations only, and several times slower).
"""

from __future__ import annotations

import hashlib
import re
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from bench.export_scale import ratings_fill
from reports.campaign_records import campaign_rating_records
from reports.exports import report_export
from reports.sources import ReportSource
from tests.factories import make_campaign

RATINGS = 200_000
# What the streamed download may add to the process at its peak: a chunk of rows, the records made of
# them and one written piece, whatever the campaign's size.
STREAM_PEAK_MB = 50
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _hwm_kb() -> int:
    match = re.search(r"VmHWM:\s+(\d+) kB", STATUS.read_text())
    assert match
    return int(match.group(1))


def _hwm_resettable() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return STATUS.exists()


@contextmanager
def peak_mb() -> Iterator[Callable[[], float]]:
    """How far above its start the process's memory went inside the block, in MB."""
    figure: list[float] = []
    if _hwm_resettable():
        start = _hwm_kb()
        yield lambda: figure[0]
        figure.append((_hwm_kb() - start) / 1024)
    else:
        tracemalloc.start()
        yield lambda: figure[0]
        figure.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()


@pytest.mark.django_db
def test_a_download_of_200000_ratings_streams_in_bounded_memory_and_is_byte_identical(
    researcher_client: Client,
) -> None:
    campaign = make_campaign(name="big", n_prompts=250)
    User.objects.bulk_create(User(username=f"bulk-{i:04d}") for i in range(RATINGS // 250))
    assert ratings_fill(campaign=campaign, username_prefix="bulk-") == RATINGS

    with peak_mb() as stream_peak:
        response = researcher_client.get(reverse("reports:download", args=[campaign.pk]), {"format": "csv"})
        streamed, size = hashlib.sha256(), 0
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            streamed.update(chunk)
            size += len(chunk)
    # Today's list-based export of the same ratings (csv depends on the records alone).
    with peak_mb() as list_peak:
        text = report_export(
            source=ReportSource(records=campaign_rating_records(campaign=campaign)), fmt="csv"
        )
        body = text.encode()  # as the response sends it
    print(
        f"peak above start: streamed {stream_peak():.1f} MB, list-based {list_peak():.1f} MB; {size / 2**20:.1f} MB sent"
    )
    assert size == len(body) and streamed.hexdigest() == hashlib.sha256(body).hexdigest()
    assert body.count(b',"\'=SUM(A1), ""quoted""",') == RATINGS // 10  # escaped, in the comment column
    assert stream_peak() < STREAM_PEAK_MB
    assert list_peak() > 4 * stream_peak()  # what streaming saves, at this size already
