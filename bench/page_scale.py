"""Do the researcher's pages answer as fast at a million comparisons as at ten thousand? (issue 31)

    bin/with-services .venv/bin/python bench/page_scale.py [--small 10000] [--large 1000000]
        [--ratings-share 0.1] [--requests 20] [--explain]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server). Side by side in
one run, for a small and a large campaign of two systems built in SQL as bench/rating_scale.py builds
them, with a tenth of the regular comparisons rated twice (ratings, leases and `taken` written in
SQL, a rater excluded so that the exclusion paths run): each researcher page, through Django's test
client as a logged-in researcher, `--requests` times after one warm-up request, p50 and p95. The
pages: the campaign page (its statistics summary is kept under the campaign's fingerprint: the
warm-up computes it; `campaign_cold` is that first request, once (for a campaign of more than 20,000
comparisons it says a worker is computing the figures: that worker's computation is then run here,
`campaign_first_summary`); `campaign_live` is the page with
one more rating before each request, shown from the last summary while a worker refreshes it, and
`campaign_refresh` that refresh, not a page), the results browser unfiltered, on a late page
and under each kind of filter, one comparison's page, the dashboard, the campaign list and the rater
roster. `--explain` prints the slowest statement
of each page with its plan.

The last line ends with `page_p95_ms=…`: the worst page's p95 at the large size, leaving apart (and
printing before it) the campaign page's first request (`campaign_cold_ms`), the first summary a worker
computes for a large campaign (`campaign_first_summary_ms`) and the worker's refresh
(`campaign_refresh_ms`); the live campaign page counts in it.
The text search (`search_p95_ms`, also printed on its own) counts in it: PostgreSQL looks a rare word
up in trigram indexes (annotate.results.search). The line before gives each page's p95 at both sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from annotate.models import Campaign, Comparison, RaterExclusion  # noqa: E402
from annotate.serving_models import SLOTS  # noqa: E402
from bench.rating_scale import build, pct  # noqa: E402
from core.users import user_create  # noqa: E402


def fill_texts(campaign: Campaign) -> None:
    """Texts for the comparisons rating_scale's build copied without them (the pages read them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotate_comparisontexts (comparison_id, text_a, text_b, history_a, history_b)"
            " SELECT c.id, 'answer a to ' || c.prompt_id, 'answer b to ' || c.prompt_id, '[]', '[]'"
            " FROM annotate_comparison c LEFT JOIN annotate_comparisontexts t ON t.comparison_id = c.id"
            " WHERE c.campaign_id = %s AND t.comparison_id IS NULL",
            [campaign.pk],
        )


def tallies_recount(cursor: CursorWrapper, campaign_id: int) -> None:
    """Serving's open-item tallies of a campaign counted again from its comparisons (as serving_check does)."""
    cursor.execute(
        f"UPDATE annotate_servingtally t SET open_items = s.open FROM (SELECT id %% {SLOTS} AS slot,"
        " SUM((gold_answer IS NULL AND taken < needed)::int) AS open FROM annotate_comparison"
        " WHERE campaign_id = %s GROUP BY 1) s WHERE t.campaign_id = %s AND t.slot = s.slot",
        [campaign_id, campaign_id],
    )


def rate(campaign: Campaign, raters: list[User], share: float) -> int:
    """Two ratings (with their leases) on `share` of the regular comparisons, in SQL; returns how many."""
    ids = [r.pk for r in raters]
    fill_texts(campaign)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE rated AS SELECT id, row_number() OVER (ORDER BY order_key) AS rn"
            " FROM annotate_comparison WHERE campaign_id = %s AND gold_answer IS NULL"
            " ORDER BY order_key LIMIT (SELECT floor(count(*) * %s) FROM annotate_comparison"
            " WHERE campaign_id = %s)",
            [campaign.pk, share, campaign.pk],
        )
        picks = "(ARRAY[{}])[1 + ((r.rn + s) %% {})]".format(", ".join(map(str, ids)), len(ids))
        cursor.execute(
            "INSERT INTO annotate_rating (comparison_id, campaign_id, rater_id, choice, side, comment,"
            " seconds, too_fast, created) SELECT r.id, %s, " + picks + ","
            " (ARRAY['a','b','tie','both_bad'])[1 + floor(random() * 4)::int], 'left',"
            " CASE WHEN random() < 0.01 THEN 'a comment' ELSE '' END, 5 + random() * 30, false,"
            " now() - make_interval(secs => r.rn) FROM rated r, generate_series(0, 1) s",
            [campaign.pk],
        )
        count = cursor.rowcount
        cursor.execute(
            "INSERT INTO annotate_lease (campaign_id, comparison_id, rater_id, served_at, leased_until,"
            " skipped, first_choice) SELECT campaign_id, comparison_id, rater_id, created, created, false, ''"
            " FROM annotate_rating WHERE campaign_id = %s",
            [campaign.pk],
        )
        # `taken` without the per-row tally trigger, then the campaign's tallies recounted: 100,000 row
        # triggers moving the same 16 tally rows in one transaction take minutes (each walks the rows'
        # versions), which is set-up, not what the pages are timed on.
        cursor.execute("ALTER TABLE annotate_comparison DISABLE TRIGGER serving_tally_update")
        cursor.execute("UPDATE annotate_comparison SET taken = 2 WHERE id IN (SELECT id FROM rated)")
        cursor.execute("ALTER TABLE annotate_comparison ENABLE TRIGGER serving_tally_update")
        tallies_recount(cursor, campaign.pk)
        cursor.execute("DROP TABLE rated")
        # As autovacuum leaves a table that has settled: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE")
    RaterExclusion.objects.create(campaign=campaign, rater=raters[-1], reason="bench")
    return count


def page_urls(campaign: Campaign) -> dict[str, str]:
    """The researcher pages to time, by name: campaign page, results browser (filtered, paged), one comparison."""
    detail = reverse("hub:campaign_detail", kwargs={"pk": campaign.pk})
    results = reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    rater = Campaign.raters.through.objects.filter(campaign=campaign).values_list("user_id", flat=True)[0]
    one = Comparison.objects.filter(campaign=campaign, texts__isnull=False).values_list("pk", flat=True)[0]
    return {
        "campaign": detail,
        "results": results,
        "results_page_200": results + "?page=200",
        "results_outcome": results + "?outcome=a",
        "results_disagreed": results + "?disagreed=yes",
        "results_comment": results + "?has_comment=yes",
        "results_rater": results + f"?rater={rater}",
        "results_category": results + "?category=coding&setting=zero_shot",
        "results_search": results + "?q=p00042",
        "results_skipped": results + "?skipped_unrated=yes",
        "comparison": reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={one}",
        # Pages over every campaign: the dashboard (each open campaign's progress), the campaign list
        # and the rater roster (each rater's campaigns).
        "dashboard": reverse("dashboard"),
        "campaigns": reverse("annotate:campaign_list"),
        "raters": reverse("annotate:rater_list"),
    }


def time_pages(campaign: Campaign, requests: int, explain: bool = False) -> dict[str, tuple[float, float]]:
    """(p50, p95) in ms of each page, after one warm-up request; `campaign_cold` is the first request."""
    researcher = User.objects.filter(username="page-bench").first() or user_create(
        username="page-bench", role="researcher"
    )
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(researcher)
    out: dict[str, tuple[float, float]] = {}
    for name, url in page_urls(campaign).items():
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        first = 1000 * (time.perf_counter() - t0)
        assert response.status_code == 200, (name, response.status_code)
        if name == "campaign":
            out["campaign_cold"] = (first, first)
            if b'id="summary-pending"' in response.content:
                # A large campaign's first summary is a worker's (hub.campaign_page): run it here, timed.
                from hub.campaign_summary import campaign_summary_refresh

                t0 = time.perf_counter()
                campaign_summary_refresh(campaign_id=campaign.pk)
                done = 1000 * (time.perf_counter() - t0)
                out["campaign_first_summary"] = (done, done)
        if explain:
            slow = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:2]
            for q in slow:
                print(
                    f"  {name}: {float(q['time']) * 1000:.0f} ms ({len(queries)} statements) {q['sql'][:600]}"
                )
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            client.get(url)
            times.append(1000 * (time.perf_counter() - t0))
        out[name] = (statistics.median(times), pct(times, 0.95))
    out["campaign_live"], out["campaign_refresh"] = time_live_campaign(client, campaign, requests)
    return out


def time_live_campaign(
    client: Client, campaign: Campaign, requests: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The campaign page of a campaign that takes ratings: one more rating before each request.

    Each rating makes the stored summary stale: a campaign whose summary takes long is shown as it was
    while a worker computes it again (hub.campaign_page); the worker's refresh is queued here but run
    in this process afterwards, timed on its own (`campaign_refresh`, in ms, not a page).
    """
    from hub import tasks
    from hub.campaign_summary import campaign_summary_refresh

    queued: list[int] = []
    real_delay = tasks.campaign_summary_task.delay
    tasks.campaign_summary_task.delay = queued.append  # type: ignore[method-assign,assignment]
    url = reverse("hub:campaign_detail", kwargs={"pk": campaign.pk})
    rater = Campaign.raters.through.objects.filter(campaign=campaign).values_list("user_id", flat=True)[0]
    open_ids = list(
        Comparison.objects.filter(campaign=campaign, taken=0, gold_answer__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:requests]
    )
    times = []
    try:
        for comparison_id in open_ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO annotate_rating (comparison_id, campaign_id, rater_id, choice, side,"
                    " comment, seconds, too_fast, created) VALUES (%s, %s, %s, 'a', 'left', '', 9, false,"
                    " now())",
                    [comparison_id, campaign.pk, rater],
                )
            t0 = time.perf_counter()
            response = client.get(url)
            times.append(1000 * (time.perf_counter() - t0))
            assert response.status_code == 200
    finally:
        tasks.campaign_summary_task.delay = real_delay  # type: ignore[method-assign]
    t0 = time.perf_counter()
    campaign_summary_refresh(campaign_id=campaign.pk)
    refresh = 1000 * (time.perf_counter() - t0)
    print(f"  live campaign page: {len(queued)} worker refresh(es) queued over {len(times)} requests")
    return (statistics.median(times), pct(times, 0.95)), (refresh, refresh)


def pages(campaign: Campaign, requests: int = 20) -> float:
    """The worst researcher page's p95 (ms) on this campaign: what bench/rating_scale.py prints."""
    fill_texts(campaign)
    timed = time_pages(campaign, requests)
    for name, (p50, p95) in sorted(timed.items()):
        print(f"  page {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms", flush=True)
    return worst(timed)[0]


# Not in page_p95_ms, printed beside it: the campaign page's first request (it computes the summary in
# the request, once per campaign, or says a worker is computing it for a large one), that worker's first
# summary, and its refresh of the summary (not pages).
APART = ("campaign_cold", "campaign_first_summary", "campaign_refresh")


def worst(timed: dict[str, tuple[float, float]]) -> tuple[float, str]:
    return max((p95, name) for name, (_p50, p95) in timed.items() if name not in APART)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--ratings-share", type=float, default=0.1)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print("page_p95_ms=na")
        sys.exit(1)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results = {}
    for label, size in (("small", args.small), ("large", args.large)):
        campaign, raters, create_s = build(f"pages-{label}", size, 12)
        t0 = time.perf_counter()
        n_ratings = rate(campaign, raters, args.ratings_share)
        n = Comparison.objects.filter(campaign=campaign).count()
        print(
            f"{label}: {n} comparisons in {create_s:.1f} s, {n_ratings} ratings in"
            f" {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        results[label] = time_pages(campaign, args.requests, args.explain)
        for name, (p50, p95) in results[label].items():
            print(f"  {label} {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms", flush=True)
    small, large = results["small"], results["large"]
    p95, name = worst(large)
    print(f"worst page at {args.large}: {name}; p95 in ms at {args.small} / {args.large}:")
    at_small = {name: f"{p95:.0f}" for name, (_p50, p95) in small.items()}
    print(" ".join(f"{name}={at_small.get(name, '-')}/{large[name][1]:.0f}" for name in large))
    first = large.get("campaign_first_summary")
    print(
        f"campaign_cold_ms={large['campaign_cold'][1]:.0f}"
        + (f" campaign_first_summary_ms={first[1]:.0f}" if first else "")
        + f" campaign_refresh_ms={large['campaign_refresh'][1]:.0f}"
        f" campaign_live_p95_ms={large['campaign_live'][1]:.0f} search_p95_ms={large['results_search'][1]:.0f}"
        f" page_p95_ms={p95:.0f}"
    )


if __name__ == "__main__":
    main()
