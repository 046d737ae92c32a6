"""Does a rating cost the same in a large stop-when-settled campaign as in a small one? (issue 31)

    bin/with-services .venv/bin/python bench/settle_scale.py [--mode settled|adaptive]
        [--small 10000] [--large 100000] [--raters 8] [--ratings 15]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server); it migrates that
database and builds its own campaigns there. Side by side in one run, a small and a large campaign
that stop when settled (`settled`: two systems, serving draws a cell by its interval's width;
`adaptive`: three systems, serving draws a pair by its Bradley-Terry uncertainty first), each
refreshed once so that serving draws cells, then rated service-level as bench/rating_scale.py does:
the rating page's per-rating call (`rating_submit_and_serve`), --raters threads x --ratings ratings
each, p50 and p95 per call. The refresh the ratings ask for is queued, not run: it is the worker's
cost, not the rating's. The last line is
`mode=… small=… large=… p50_small_ms=… p95_small_ms=… p50_large_ms=… p95_large_ms=… p50_ratio=… p95_ratio=…
create_large_s=…` (large over small for the ratios: 1.00 is flat; `create_large_s`: `campaign_create` of
the large campaign, its cells included).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="settle-scale-"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from annotate.models import Campaign, Comparison, SequentialCell  # noqa: E402
from annotate.services import campaign_create  # noqa: E402
from annotate.settling import campaign_settle_refresh  # noqa: E402
from bench.create_scale import answered_set  # noqa: E402
from bench.pg_stats import analyze_filled  # noqa: E402
from bench.rating_scale import pct, serve, sound  # noqa: E402
from core.users import user_create  # noqa: E402

SYSTEMS = {"settled": ("settle-a", "settle-b"), "adaptive": ("settle-a", "settle-b", "settle-c")}


def build(name: str, size: int, mode: str, n_raters: int) -> tuple[Campaign, list, float]:
    """A stop-when-settled campaign of about `size` comparisons, refreshed once, and its raters; returns
    the seconds `campaign_create` took (giving the comparisons their cells included)."""
    systems = SYSTEMS[mode]
    pairs = len(systems) * (len(systems) - 1) // 2
    es = answered_set(name, -(-size // pairs), 60, systems=systems)
    raters = [user_create(username=f"{name}-{i:03d}", role="rater") for i in range(n_raters)]
    start = time.perf_counter()
    campaign = campaign_create(
        name=name, eval_set=es, systems=list(systems), ratings_per_comparison=2, raters=raters,
        stop_when_settled=True,
    )  # fmt: skip
    create_s = time.perf_counter() - start
    campaign.status = Campaign.Status.OPEN
    campaign.save()
    campaign_settle_refresh(campaign_id=campaign.pk)  # the cells serving draws from
    analyze_filled()
    return campaign, raters, create_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=sorted(SYSTEMS), default="settled")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--raters", type=int, default=8)
    parser.add_argument("--ratings", type=int, default=15)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print(f"mode={args.mode} p50_ratio=na p95_ratio=na")
        sys.exit(1)
    call_command("migrate", verbosity=0)
    results = {}
    for label, size in (("small", args.small), ("large", args.large)):
        campaign, raters, create_s = build(f"{args.mode}-{label}", size, args.mode, args.raters)
        n = Comparison.objects.filter(campaign=campaign).count()
        cells = SequentialCell.objects.filter(campaign=campaign).count()
        times = serve(campaign, raters, args.ratings)
        twice, over = sound(campaign)
        results[label] = (statistics.median(times), pct(times, 0.95), create_s)
        print(
            f"{label}: {n} comparisons, {cells} cells, built in {create_s:.1f} s; per rating p50 {1000 * results[label][0]:.1f} ms,"
            f" p95 {1000 * results[label][1]:.1f} ms ({len(times)} calls, {args.raters} threads);"
            f" rated twice {twice}, over-rated {over}",
            flush=True,
        )
    small, large = results["small"], results["large"]
    print(
        f"mode={args.mode} small={args.small} large={args.large}"
        f" p50_small_ms={1000 * small[0]:.1f} p95_small_ms={1000 * small[1]:.1f}"
        f" p50_large_ms={1000 * large[0]:.1f} p95_large_ms={1000 * large[1]:.1f}"
        f" p50_ratio={large[0] / small[0]:.2f} p95_ratio={large[1] / small[1]:.2f} create_large_s={large[2]:.1f}"
    )


if __name__ == "__main__":
    main()
