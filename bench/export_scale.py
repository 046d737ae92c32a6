"""Do the ratings downloads stream in constant memory at a million ratings? (issue 31)

    bin/with-services .venv/bin/python bench/export_scale.py [--large 1000000] [--small 100000] [--raters 10]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server); it migrates that
database and builds two campaigns there (bench/rating_scale.py's build: 1,000 prompts' comparisons
copied in SQL, a ComparisonTexts row of about 1 KB a response each), then `--raters` raters rate
every comparison (one INSERT ... SELECT), so a campaign of `--large` ratings has large / raters
comparisons. Side by side, each download in a process of its own (its peak RSS is its own):
- streamed: what the report page's download sends now (`campaign_ratings_chunks`: records read
  2,000 rows at a time through a server-side cursor, written a chunk at a time), at both sizes;
- list: today's list-based path at the small size: csv and jsonl as the download built them before
  (`campaign_report_source`, then `report_export`'s text, then its bytes), parquet as `report --format
  hf` wrote it before (every row in one pyarrow table, `write_table`).
Each line gives seconds, the peak RSS of the download (Linux: the peak is reset to the present RSS
once Django, the campaign and pyarrow are loaded) and that RSS before it; csv and jsonl streamed
and list at the small size must hash (sha256) the same (`identical=1`). The last line is
`csv_stream_s=… csv_stream_rss_mb=… csv_stream_small_s=… csv_stream_small_rss_mb=… csv_list_small_s=…
csv_list_small_rss_mb=… (jsonl_…, parquet_…) identical=1 ratings=…` (stream: the large campaign).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from annotate.models import Campaign  # noqa: E402
from bench.pg_stats import analyze_filled  # noqa: E402

FORMATS = ("csv", "jsonl", "parquet")
# About 1 KB of answer: real answers run to a few KB, and the records carry both responses.
ANSWER = "The answer, at some length, " * 9


def texts_fill(*, campaign: Campaign) -> None:
    """About 1 KB a response for every comparison (rating_scale's build copies comparisons, not their
    texts): some prose and 768 characters of md5 hex, so Parquet's compression meets text of a real size."""
    noise = "(SELECT string_agg(md5(c.id::text || '{side}' || g::text), '') FROM generate_series(1, 24) g)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotate_comparisontexts (comparison_id, text_a, text_b, history_a, history_b)"
            " SELECT c.id, '', '', '[]', '[]' FROM annotate_comparison c"
            " LEFT JOIN annotate_comparisontexts t ON t.comparison_id = c.id"
            " WHERE c.campaign_id = %s AND t.comparison_id IS NULL",
            [campaign.pk],
        )
        cursor.execute(
            f"UPDATE annotate_comparisontexts t SET text_a = %s || {noise.format(side='a')},"
            f" text_b = %s || {noise.format(side='b')} FROM annotate_comparison c"
            " WHERE c.id = t.comparison_id AND c.campaign_id = %s",
            [ANSWER, ANSWER, campaign.pk],
        )


def ratings_fill(*, campaign: Campaign, username_prefix: str) -> int:
    """Every user whose name starts with `username_prefix` rates every comparison of `campaign`, in one
    INSERT ... SELECT (PostgreSQL and SQLite): choices and seconds cycle, one comment in ten is a formula a
    spreadsheet would run. Returns the number of ratings. (`_` in the prefix matches any character.)"""
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotate_rating (comparison_id, campaign_id, rater_id, choice, side, comment, seconds,"
            " too_fast, created)"
            " SELECT c.id, c.campaign_id, u.id,"
            " CASE (c.id + u.id) %% 4 WHEN 0 THEN 'a' WHEN 1 THEN 'b' WHEN 2 THEN 'tie' ELSE 'both_bad' END,"
            " CASE (c.id + u.id) %% 4 WHEN 0 THEN 'left' WHEN 1 THEN 'right' WHEN 2 THEN 'tie' ELSE 'both_bad' END,"
            " CASE WHEN (c.id + u.id) %% 10 = 0 THEN '=SUM(A1), \"quoted\"' ELSE '' END,"
            " 1.5 + (c.id + u.id) %% 30, %s, %s"
            " FROM annotate_comparison c CROSS JOIN auth_user u"
            " WHERE c.campaign_id = %s AND u.username LIKE %s",
            [False, timezone.now(), campaign.pk, username_prefix + "%"],
        )
        return cursor.rowcount


def build(name: str, ratings: int, raters: int) -> Campaign:
    from bench.rating_scale import build as comparisons_build

    campaign, _, _ = comparisons_build(name, -(-ratings // raters), raters)
    texts_fill(campaign=campaign)
    made = ratings_fill(campaign=campaign, username_prefix=f"{name}-")
    analyze_filled()
    print(f"{name}: {made} ratings", flush=True)
    return campaign


def _status_mb(field: str) -> float:
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def _peak_reset() -> float:
    """Resets the peak RSS to the present one (Linux) and returns the present one, in MB; elsewhere the
    process's peak so far (the download's own peak is then hidden below it)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    peak = _status_mb("VmHWM") if Path("/proc/self/status").exists() else float("nan")
    return max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if peak != peak else peak)


def _list_based(campaign: Campaign, fmt: str) -> Iterable[bytes]:
    """Today's list-based download of `fmt`, as bytes."""
    from reports.campaign_report import campaign_report_source

    source = campaign_report_source(campaign=campaign)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from reports.hf_dataset import COLUMNS, hf_rows

        schema = pa.schema([(name, getattr(pa, kind)()) for name, kind, _ in COLUMNS])
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(hf_rows(source.records), schema=schema), buffer)
        return [buffer.getvalue()]
    from reports.exports import report_export

    return [report_export(source=source, fmt=fmt).encode()]


def measure(name: str, fmt: str, mode: str) -> None:
    """One download in this process: prints its figures as JSON."""
    from reports.campaign_report import campaign_ratings_chunks

    campaign = Campaign.objects.get(name=name)
    connection.ensure_connection()
    if fmt == "parquet":
        import pyarrow.parquet  # noqa: F401  (loaded before the peak is taken: the library is not the download)
    before = _peak_reset()
    digest, size = hashlib.sha256(), 0
    start = time.perf_counter()
    chunks = (
        campaign_ratings_chunks(campaign=campaign, fmt=fmt)
        if mode == "stream"
        else _list_based(campaign, fmt)
    )
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk  # as the response encodes it
        digest.update(data)
        size += len(data)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "s": seconds,
                "rss_mb": _peak_mb(),
                "before_mb": before,
                "bytes": size,
                "sha": digest.hexdigest(),
            }
        )
    )


def _run(name: str, fmt: str, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", name, fmt, mode], capture_output=True, text=True, check=True
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    print(
        f"{fmt} {mode} {name}: {figures['s']:.1f} s, peak RSS {figures['rss_mb']:.0f} MB"
        f" (before {figures['before_mb']:.0f} MB), {figures['bytes'] / 1e6:.1f} MB sent",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--measure", nargs=3, metavar=("CAMPAIGN", "FORMAT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print(" ".join(f"{fmt}_{kind}=na" for fmt in FORMATS for kind in ("stream_s", "stream_rss_mb", "list_small_s", "list_small_rss_mb")) + " identical=na ratings=na")  # fmt: skip
        sys.exit(1)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    build("export-small", args.small, args.raters)
    build("export-large", args.large, args.raters)
    figures: dict[str, float] = {}
    identical = True
    for fmt in FORMATS:
        small_stream = _run("export-small", fmt, "stream")
        small_list = _run("export-small", fmt, "list")
        large_stream = _run("export-large", fmt, "stream")
        if fmt != "parquet":  # the old parquet writer made one row group; the bytes differ, not the rows
            identical &= small_stream["sha"] == small_list["sha"]
        figures.update(
            {
                f"{fmt}_stream_s": large_stream["s"],
                f"{fmt}_stream_rss_mb": large_stream["rss_mb"],
                f"{fmt}_stream_small_s": small_stream["s"],
                f"{fmt}_stream_small_rss_mb": small_stream["rss_mb"],
                f"{fmt}_list_small_s": small_list["s"],
                f"{fmt}_list_small_rss_mb": small_list["rss_mb"],
            }
        )
    ratings = Campaign.objects.get(name="export-large").ratings.count()
    print(
        " ".join(f"{key}={value:.1f}" for key, value in figures.items())
        + f" identical={int(identical)} ratings={ratings}"
    )


if __name__ == "__main__":
    main()
