"""Does a rating cost the same in a campaign of a million comparisons as in one of ten thousand? (issue 31)

    bin/with-services .venv/bin/python bench/rating_scale.py [--small 10000] [--large 1000000]
        [--raters 10] [--ratings 20] [--rounds 6] [--clients 50] [--saturate-s 20] [--workers N]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server); it migrates
that database and builds its own campaigns there. Side by side in one run, for a small and a large
campaign of two systems, built first, then measured in turns (small then large, large then small,
...) so that the machine's drift over the run weighs on both alike:
- serve: the rating page's per-rating call, service-level (`rating_submit_and_serve`: store the
  choice and lease the next item in one transaction), --raters threads x --ratings ratings each, in
  each of --rounds turns, after one uncounted turn of a quarter as many: p50 and p95 per call;
- throughput: --clients HTTP clients (bench/rating_load.py's, one keep-alive connection each) rating
  without pause against gunicorn on the same database, in the first two turns, --saturate-s seconds
  in all: ratings/s;
- correctness: no rater rated an item twice, no item got more than it needs.

`report_s`/`report_peak_mb`: `report --format json` of the large campaign with the ratings this bench
gave it, in a child process (bench/report_scale.py times it at a million ratings). `page_p95_ms` is the worst researcher page's p95 on the large campaign as rated here
(bench/page_scale.py `pages`; that bench fills many more ratings). `create_s` is the time `campaign_create` (the service `create_campaign` calls) takes to build the large campaign from a set of that many
prompts answered by both systems. The last line is
`serve_p50_ratio=… serve_p95_ratio=… throughput_ratio=… create_s=… report_s=… report_peak_mb=… page_p95_ms=…`
(large over small for the ratios: 1.00 is flat; throughput large over small, higher is better).
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The gunicorn this bench starts shares these (sessions made here are read there); var/ is not touched.
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="rating-scale-"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from annotate.assignment import item_next, rating_submit_and_serve  # noqa: E402
from annotate.models import Campaign, Comparison  # noqa: E402
from annotate.services import campaign_create  # noqa: E402
from bench.create_scale import answered_set  # noqa: E402
from bench.http_floor import default_workers  # noqa: E402
from bench.pg_stats import analyze_filled  # noqa: E402
from bench.report_scale import report  # noqa: E402
from core.users import user_create  # noqa: E402


def build(name: str, size: int, n_raters: int) -> tuple[Campaign, list, float]:
    """A campaign of `size` comparisons and its raters; returns the seconds `campaign_create` took.

    The set (`size` prompts) and both systems' answers are written in SQL first (bench/create_scale.py),
    untimed; the campaign is then built by the service `create_campaign` calls.
    """
    es = answered_set(name, size, 60, systems=("scale-a", "scale-b"))
    raters = [user_create(username=f"{name}-{i:03d}", role="rater") for i in range(n_raters)]
    start = time.perf_counter()
    campaign = campaign_create(
        name=name, eval_set=es, systems=["scale-a", "scale-b"], ratings_per_comparison=2, raters=raters
    )
    seconds = time.perf_counter() - start
    campaign.status = Campaign.Status.OPEN
    campaign.save()
    analyze_filled()
    return campaign, raters, seconds


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


class Server:
    """gunicorn serving the site on the bench's database, as bench/rating_load.py serves it."""

    def __init__(self, workers: int) -> None:
        from bench.rating_load import free_port

        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--log-level", "warning", "--backlog", "512"],
            cwd=ROOT, env=dict(os.environ),
        )  # fmt: skip
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("rating_scale: gunicorn did not start")
        for _ in range(workers * 2):  # each worker's imports, before anything is timed
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            conn.getresponse().read()
            conn.close()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def sessions_for(raters: list) -> dict[str, str]:
    """A logged-in session per rater, as the login view would make it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    made = {}
    for user in raters:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "core.backends.RoleBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        made[user.username] = str(store.session_key)
    return made


def http_saturate(
    server: Server, campaign: Campaign, sessions: dict[str, str], seconds: float
) -> tuple[int, float, int]:
    """One client per rater session, each rating without pause through the page's submit-with-next call
    (bench/rating_load.py's client) for `seconds`; returns (ratings, wall seconds, client errors)."""
    from bench.rating_load import Rater

    deadline = time.monotonic() + seconds
    clients = [
        Rater(name, session, server.port, campaign.pk, 10**6, deadline)
        for name, session in sorted(sessions.items())
    ]
    start = time.perf_counter()
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=seconds + 60)
    wall = time.perf_counter() - start
    return sum(len(c.acked) for c in clients), wall, sum(len(c.errors) for c in clients)


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


class _Built(NamedTuple):
    campaign: Campaign
    serving: list  # the raters of the service-level calls
    sessions: dict[str, str]  # the HTTP clients' logged-in sessions
    create_s: float
    comparisons: int


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--ratings", type=int, default=20, help="ratings per rater in each turn")
    parser.add_argument("--rounds", type=int, default=6, help="turns of each campaign, alternated")
    parser.add_argument("--clients", type=int, default=50, help="HTTP clients rating without pause")
    parser.add_argument("--saturate-s", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn sync workers (default one per core)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print("serve_p50_ratio=na serve_p95_ratio=na throughput_ratio=na create_s=na report_s=na "
              "report_peak_mb=na page_p95_ms=na")  # fmt: skip
        sys.exit(1)
    call_command("migrate", verbosity=0)
    server = Server(args.workers or default_workers())
    built: dict[str, _Built] = {}
    try:
        for label, size in (("small", args.small), ("large", args.large)):
            campaign, raters, create_s = build(f"scale-{label}", size, args.raters + args.clients)
            n = Comparison.objects.filter(campaign=campaign).count()
            sessions = sessions_for(raters[args.raters :])
            built[label] = _Built(campaign, raters[: args.raters], sessions, create_s, n)
        # Side by side: the campaigns take turns (small then large, then large then small, ...), so a
        # machine that speeds up or slows down during the run (this one moves by a third within an
        # hour) weighs on both alike. A first turn of each, not counted, reads the large campaign's
        # pages in from disk after its build, as its first raters would.
        times: dict[str, list[float]] = {"small": [], "large": []}
        http = {label: [0, 0.0, 0] for label in times}
        for label in times:
            serve(built[label].campaign, built[label].serving, max(1, args.ratings // 4))
        for turn in range(args.rounds):
            for label in ("small", "large") if turn % 2 == 0 else ("large", "small"):
                one = built[label]
                times[label] += serve(one.campaign, one.serving, args.ratings)
                if turn < 2:  # two turns of HTTP each, half the seconds in each
                    got = http_saturate(server, one.campaign, one.sessions, args.saturate_s / 2)
                    http[label] = [a + b for a, b in zip(http[label], got, strict=True)]
        results = {}
        for label, one in built.items():
            ratings, wall, errors = http[label]
            twice, over = sound(one.campaign)
            rate = ratings / wall
            results[label] = (statistics.median(times[label]), pct(times[label], 0.95), rate, one.create_s)
            print(
                f"{label}: {one.comparisons} comparisons built in {one.create_s:.1f} s; per rating p50 {1000 * results[label][0]:.1f} ms,"
                f" p95 {1000 * results[label][1]:.1f} ms ({len(times[label])} calls, {args.raters} threads,"
                f" {args.rounds} turns); {rate:.0f} ratings/s over HTTP ({args.clients} clients, gunicorn,"
                f" 2 turns); client errors {errors}, rated twice {twice}, over-rated {over}",
                flush=True,
            )
        # `report --format json` of the large campaign (bench/report_scale.py: at a million)
        report_s, report_mb = report(built["large"].campaign)
        from bench.page_scale import pages  # here: page_scale imports this module

        page_ms = pages(built["large"].campaign)
    finally:
        server.close()
    small, large = results["small"], results["large"]
    print(
        f"serve_p50_ratio={large[0] / small[0]:.2f} serve_p95_ratio={large[1] / small[1]:.2f}"
        f" throughput_ratio={large[2] / small[2]:.2f} create_s={large[3]:.1f} report_s={report_s:.1f}"
        f" report_peak_mb={report_mb:.0f} page_p95_ms={page_ms:.0f}"
    )


if __name__ == "__main__":
    main()
