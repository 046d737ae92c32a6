"""Does a rating cost the same in a campaign of a million comparisons as in one of ten thousand? (issue 31)

    bin/with-services .venv/bin/python bench/rating_scale.py [--small 10000] [--large 1000000]
        [--raters 10] [--ratings 20] [--clients 16] [--saturate-s 20]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server); it migrates
that database and builds its own campaigns there. Side by side in one run, for a small and a large
campaign of two systems:
- serve: the rating page's per-rating call, service-level (`rating_submit_and_serve`: store the
  choice and lease the next item in one transaction), --raters threads x --ratings ratings each:
  p50 and p95 per call;
- throughput: --clients threads rating without pause for --saturate-s seconds: ratings/s;
- correctness: no rater rated an item twice, no item got more than it needs.

`page_p95_ms` is the worst researcher page's p95 on the large campaign as rated here (bench/page_scale.py
`pages`; that bench fills many more ratings). What it does not measure yet (printed as `na`): the
report at a million ratings and the HTTP stack (bench/rating_load.py drives gunicorn). `create_s` is the time to build the large
campaign as this bench builds it: `create_campaign`'s service for 1,000 prompts, then the rows
copied in SQL (`INSERT ... SELECT`) up to the size, with fresh tokens and order keys; not
`create_campaign` at a million. The last line is
`serve_p50_ratio=… serve_p95_ratio=… throughput_ratio=… create_s=… report_s=… report_peak_mb=… page_p95_ms=…`
(large over small for the ratios: 1.00 is flat; throughput large over small, higher is better).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from annotate.assignment import item_next, rating_submit_and_serve  # noqa: E402
from annotate.models import Campaign, Comparison  # noqa: E402
from annotate.services import campaign_create  # noqa: E402
from core.models import JobStatus  # noqa: E402
from core.users import user_create  # noqa: E402
from eval_sets.models import EvalSet, Prompt  # noqa: E402
from generation.models import GenerationJob, ModelSpec, Sample  # noqa: E402

_BASE_PROMPTS = 1000


def build(name: str, size: int, n_raters: int) -> tuple[Campaign, list, float]:
    """A campaign of `size` comparisons and its raters; returns the seconds the build took."""
    start = time.perf_counter()
    es = EvalSet.objects.create(name=name, version=1, content_hash=name, source_format="jsonl")
    prompts = Prompt.objects.bulk_create(
        Prompt(
            eval_set=es,
            uid=f"p{i:05d}",
            position=i,
            category=("writing", "coding")[i % 2],
            text=f"Prompt {i}",
        )
        for i in range(min(size, _BASE_PROMPTS))
    )
    for system in ("scale-a", "scale-b"):
        model, _ = ModelSpec.objects.get_or_create(name=system, defaults={"path": "/bench/" + system})
        job = GenerationJob.objects.create(model=model, eval_set=es, status=JobStatus.DONE)
        Sample.objects.bulk_create(
            Sample(
                job=job,
                prompt=p,
                index=0,
                text=f"{system} answer to {p.uid}",
                finish_reason="eos",
                selected=True,
            )
            for p in prompts
        )
    raters = [user_create(username=f"{name}-{i:03d}", role="rater") for i in range(n_raters)]
    campaign = campaign_create(
        name=name, eval_set=es, systems=["scale-a", "scale-b"], ratings_per_comparison=2, raters=raters
    )
    copies = -(-size // len(prompts)) - 1
    if copies > 0:
        fields = [str(f.column) for f in Comparison._meta.concrete_fields if not f.primary_key]
        fresh = {
            "token": "md5(random()::text || g::text || c.id::text)",
            "order_key": "floor(random() * 2147483647)::bigint",
            "taken": "0",
            "lease_check_at": "NULL",
        }
        columns = ", ".join(fields)
        values = ", ".join(fresh.get(column, f"c.{column}") for column in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO annotate_comparison ({columns}) SELECT {values} FROM annotate_comparison c,"
                " generate_series(1, %s) g WHERE c.campaign_id = %s",
                [copies, campaign.pk],
            )
    campaign.status = Campaign.Status.OPEN
    campaign.save()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return campaign, raters, time.perf_counter() - start


def _threads(work, n: int) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def serve(campaign: Campaign, raters: list, ratings: int) -> list[float]:
    """Each rater rates `ratings` items through the per-rating call; returns each call's seconds."""
    times: list[float] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            item = item_next(campaign=campaign, rater=raters[i])
            for _ in range(ratings):
                if item is None:
                    return
                t0 = time.perf_counter()
                _r, _c, item, _p = rating_submit_and_serve(
                    campaign=campaign, rater=raters[i], token=item.token, side="left"
                )
                with lock:
                    times.append(time.perf_counter() - t0)
        finally:
            connections.close_all()

    _threads(work, len(raters))
    return times


def saturate(campaign: Campaign, raters: list, seconds: float) -> float:
    """Ratings per second with every rater rating without pause."""
    done = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        try:
            item = item_next(campaign=campaign, rater=raters[i])
            while item is not None and time.perf_counter() < stop:
                _r, created, item, _p = rating_submit_and_serve(
                    campaign=campaign, rater=raters[i], token=item.token, side="right"
                )
                with lock:
                    done[0] += created
        finally:
            connections.close_all()

    start = time.perf_counter()
    _threads(work, len(raters))
    return done[0] / (time.perf_counter() - start)


def sound(campaign: Campaign) -> tuple[int, int]:
    """(ratings given twice by one rater, items rated more than they need): both must be 0."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT rater_id, comparison_id FROM annotate_rating WHERE campaign_id = %s"
            " GROUP BY 1, 2 HAVING COUNT(*) > 1) d",
            [campaign.pk],
        )
        twice = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT r.comparison_id FROM annotate_rating r JOIN annotate_comparison c"
            " ON c.id = r.comparison_id WHERE r.campaign_id = %s GROUP BY r.comparison_id, c.needed"
            " HAVING COUNT(*) > c.needed) o",
            [campaign.pk],
        )
        return twice, cursor.fetchone()[0]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--ratings", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--saturate-s", type=float, default=20.0)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print("serve_p50_ratio=na serve_p95_ratio=na throughput_ratio=na create_s=na report_s=na "
              "report_peak_mb=na page_p95_ms=na")  # fmt: skip
        sys.exit(1)
    call_command("migrate", verbosity=0)
    results = {}
    for label, size in (("small", args.small), ("large", args.large)):
        campaign, raters, create_s = build(f"scale-{label}", size, args.raters + args.clients)
        n = Comparison.objects.filter(campaign=campaign).count()
        times = serve(campaign, raters[: args.raters], args.ratings)
        rate = saturate(campaign, raters[args.raters :], args.saturate_s)
        twice, over = sound(campaign)
        if label == "large":
            from bench.page_scale import pages  # here: page_scale imports this module

            page_ms = pages(campaign)
        results[label] = (statistics.median(times), pct(times, 0.95), rate, create_s)
        print(
            f"{label}: {n} comparisons built in {create_s:.1f} s; per rating p50 {1000 * results[label][0]:.1f} ms,"
            f" p95 {1000 * results[label][1]:.1f} ms ({len(times)} calls); {rate:.0f} ratings/s"
            f" ({args.clients} clients); rated twice {twice}, over-rated {over}",
            flush=True,
        )
    small, large = results["small"], results["large"]
    print(
        f"serve_p50_ratio={large[0] / small[0]:.2f} serve_p95_ratio={large[1] / small[1]:.2f}"
        f" throughput_ratio={large[2] / small[2]:.2f} create_s={large[3]:.1f} report_s=na report_peak_mb=na"
        f" page_p95_ms={page_ms:.0f}"
    )


if __name__ == "__main__":
    main()
