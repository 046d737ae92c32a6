"""Load test of the rating flow: N concurrent simulated raters against a real server.

    .venv/bin/python bench/rating_load.py [--mode both|saturate|realistic] [--raters 50] [--items 20]
        [--duration 60] [--real-raters 1000] [--think 20] [--real-duration 120] [--workers N]

Serves the site with gunicorn on 127.0.0.1 and drives it with N rater threads (http.client, one
keep-alive connection each) that behave as the real rating page (static/annotate/rate.js): one
fetch-next when the page opens, then one "submit+next" request per rating (the rating is stored
and the next item returned in the same call, `"next": true`), bounded by --items per rater and
--duration seconds: "submit+next" is `submit_*` in the last line, a page's first load `next_*`.
About 10% of ratings are sent twice (a double click): the stored rating and same next item return.

Database: a fresh one on DATABASE_URL's PostgreSQL, else under bin/with-services (a throwaway
PostgreSQL on loopback, or SQLite where there is none; the output says). var/ is not touched.

Prints p50/p95 latency, ratings/s, the client's own CPU, and duplicate, lost and over-rated counts
(all must be 0), then a key=value line. First it measures the stack's floor (bench/http_floor.py):
`ratings_per_floor` is saturate's ratings/s over near-empty requests/s on the same server.

Two modes, both run by default on the same server, each on its own campaign and raters:
- saturate: --raters raters that never pause (the throughput figure, `ratings_per_s`);
- realistic: --real-raters raters (1,000) who read for a think time drawn around --think seconds
  (gamma, shape 4: mean 20 s, sd 10 s) before each rating, for --real-duration seconds (2 minutes).
  Think times are real, not scaled: 1,000 raters at 20 s each arrive at about 50 ratings/s, and
  their first loads are spread over the first think time, as people arrive, so the server sees the
  steady state of 1,000 open rating pages within a bounded run. Its latency figures are `real_*`.
  Each call reads counters and an index, not the 6,600 items (bench/rating_scale.py: issue 31).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT))

from bench.http_floor import default_workers, floor  # noqa: E402
from bench.rating_snippets import SETUP, VERIFY  # noqa: E402


def run_manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.exit(f"rating_load: manage.py {args[0]} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def shell_json(env: dict[str, str], code: str) -> dict:
    out = run_manage(env, "shell", "-c", code)
    line = next(line for line in reversed(out.splitlines()) if line.startswith("BENCH_JSON "))
    return json.loads(line[len("BENCH_JSON ") :])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_database(url: str) -> tuple[str, str]:
    """Create a fresh database beside the one in `url`; return (its URL, its name)."""
    import psycopg

    name = f"bench_rating_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name)), name


def pg_drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Rater(threading.Thread):
    def __init__(
        self, name: str, session: str, port: int, campaign: int, items: int, deadline: float,
        think: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.think = think
        self.username, self.session, self.port = name, session, port
        self.base = f"/rate/task/{campaign}/"
        self.items, self.deadline = items, deadline
        self.csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.next_ms: list[float] = []
        self.submit_ms: list[float] = []
        self.acked: list[str] = []  # tokens the server said it stored for us, first time
        self.repeats = 0  # resent submissions answered "already stored"
        self.errors: list[str] = []

    def call(self, conn: http.client.HTTPConnection, path: str, body: dict) -> tuple[float, dict]:
        data = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-CSRFToken": self.csrf,
            "Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
            "Host": "127.0.0.1",
            "Referer": f"http://127.0.0.1:{self.port}{self.base}",
        }
        start = time.perf_counter()
        conn.request("POST", self.base + path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status} {payload[:200]!r}")
        return elapsed, json.loads(payload)

    def run(self) -> None:
        # As the real page (static/annotate/rate.js) does: one fetch-next when the page opens, then
        # one request per rating that stores it and returns the next item (`"next": true`).
        rng = random.Random(self.username)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if self.think:  # people open the page at different moments
                time.sleep(rng.uniform(0, self.think))
            if time.monotonic() > self.deadline:
                return
            ms, state = self.call(conn, "next", {})
            self.next_ms.append(ms)
            for _ in range(self.items):
                item = state["item"]
                if item is None or time.monotonic() > self.deadline:
                    break
                if self.think:  # reading both answers before choosing
                    pause = rng.gammavariate(4.0, self.think / 4.0)
                    if time.monotonic() + pause > self.deadline:
                        break
                    time.sleep(pause)
                body = {
                    "token": item["token"],
                    "side": rng.choice(["left", "right", "tie", "both_bad"]),
                    "seconds": 5,
                    "next": True,
                }
                ms, result = self.call(conn, "submit", body)
                self.submit_ms.append(ms)
                if result["created"]:
                    self.acked.append(item["token"])
                if rng.random() < 0.1:  # a double click: must be answered with the stored rating
                    _, again = self.call(conn, "submit", body)
                    self.repeats += 1
                    if again["created"] or again["rating"] != result["rating"]:
                        self.errors.append("a resent submission was stored again")
                    shown = (result["item"] or {}).get("token")
                    if (again["item"] or {}).get("token") != shown:
                        self.errors.append("a resent submission moved the rater to another item")
                state = result
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_phase(env: dict[str, str], port: int, name: str, setup: dict, items: int, duration: float,
              think: float) -> dict:  # fmt: skip
    """Drive one campaign's raters until done or `duration`; check what was stored; the figures."""
    deadline = time.monotonic() + duration
    raters = [Rater(user, session, port, setup["campaign"], items, deadline, think)
              for user, session in sorted(setup["sessions"].items())]  # fmt: skip
    start, cpu_start = time.perf_counter(), time.process_time()  # this process: the client's CPU
    for rater in raters:
        rater.start()
    for rater in raters:
        rater.join(timeout=duration + think * 2 + 60)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    verify = shell_json(env, VERIFY.format(name=name))
    stored = {(user, token) for user, token in verify["pairs"]}
    acked = {(r.username, t) for r in raters for t in r.acked}
    errors = [e for r in raters for e in r.errors]
    next_ms = [x for r in raters for x in r.next_ms]
    submit_ms = [x for r in raters for x in r.submit_ms]
    return {
        "ratings_per_s": len(acked) / wall if wall else 0.0, "ratings": len(acked), "raters": len(raters),
        "next_p50_ms": pct(next_ms, 0.5), "next_p95_ms": pct(next_ms, 0.95), "n": len(submit_ms),
        "submit_p50_ms": pct(submit_ms, 0.5), "submit_p95_ms": pct(submit_ms, 0.95),
        "duplicates": verify["duplicates"], "lost": len(acked - stored), "over_rated": verify["over_rated"],
        "errors": len(errors), "first_errors": errors[:5], "resent": sum(r.repeats for r in raters),
        "wall": wall, "cpu": cpu, "db": verify["vendor"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--items", type=int, default=20, help="ratings per rater at most")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load at most")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="gunicorn sync workers (default: one per core, bench.http_floor.default_workers)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--mode", choices=("both", "saturate", "realistic"), default="both")
    parser.add_argument("--real-raters", type=int, default=1000, help="realistic mode: raters")
    parser.add_argument("--think", type=float, default=20.0, help="realistic mode: mean think time (s)")
    parser.add_argument("--real-duration", type=float, default=120.0, help="realistic mode: seconds")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    services = ROOT / "bin" / "with-services"
    if not database_url and not os.environ.get("RATING_LOAD_CHILD") and services.exists():
        os.environ["RATING_LOAD_CHILD"] = "1"
        os.execv(str(services), [str(services), PY, str(Path(__file__).resolve()), *sys.argv[1:]])

    tmp = Path(tempfile.mkdtemp(prefix="rating-load-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(
        VAR_DIR=str(tmp), SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1", DEBUG="false"
    )
    dropped: tuple[str, str] | None = None
    if database_url.startswith(("postgres://", "postgresql://")):
        env["DATABASE_URL"], db_name = pg_database(database_url)
        dropped = (database_url, db_name)
        db_label = "postgresql"
    else:
        db_label = "sqlite (embedded default: no PostgreSQL on this machine)"
    server: subprocess.Popen[bytes] | None = None
    try:
        run_manage(env, "migrate", "--noinput")
        real_items = int(args.real_duration / args.think * 1.5) + 2
        plans = {"saturate": (args.raters, args.items, args.duration, 0.0),
                 "realistic": (args.real_raters, real_items, args.real_duration, args.think)}  # fmt: skip
        modes = ("saturate", "realistic") if args.mode == "both" else (args.mode,)
        setups = {}
        for mode in modes:
            n, items = plans[mode][:2]
            n_prompts = max(10, int(n * items * 1.2 / 2) + 1)
            setups[mode] = shell_json(env, SETUP.format(name=mode, n_raters=n, n_prompts=n_prompts))
        workers = args.workers or default_workers()
        port = free_port()
        server = subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(args.threads),
                "--log-level",
                "warning",
                "--backlog",
                "512",
            ],
            cwd=ROOT,
            env=env,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("rating_load: gunicorn did not start")
        # One warm-up request per worker's imports, so the first timed calls are not import time.
        for _ in range(workers * 2):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()

        floor_per_s, floor_p95, floor_errors = floor(port=port, threads=args.raters, seconds=10.0)
        print(f"[floor] {args.raters} clients on /healthz for 10 s: {floor_per_s:.1f} requests/s, "
              f"p95={floor_p95:.1f}ms, client_errors={floor_errors}")  # fmt: skip
        results: dict[str, dict] = {}
        for mode, setup in setups.items():
            n, items, duration, think = plans[mode]
            results[mode] = run_phase(env, port, mode, setup, items, duration, think)
            fig = results[mode]
            print(
                f"[{mode}] database: {fig['db']} ({db_label}); gunicorn workers={workers} threads={args.threads}"
            )
            print(f"[{mode}] raters={n} items<={items} think~{think:g}s wall={fig['wall']:.2f}s "
                  f"ratings={fig['ratings']} resent={fig['resent']}")  # fmt: skip
            print(
                f"[{mode}] fetch-next (first load): p50={fig['next_p50_ms']:.1f}ms p95={fig['next_p95_ms']:.1f}ms"
            )
            print(
                f"[{mode}] submit+next: n={fig['n']} p50={fig['submit_p50_ms']:.1f}ms p95={fig['submit_p95_ms']:.1f}ms"
            )
            print(f"[{mode}] load generator CPU: {fig['cpu']:.1f}s over {fig['wall']:.1f}s wall")
            print(f"[{mode}] duplicates={fig['duplicates']} lost={fig['lost']} over_rated={fig['over_rated']} "
                  f"client_errors={fig['errors']}")  # fmt: skip
            for error in fig["first_errors"]:
                print("  error:", error)
        if "realistic" in results:
            think = plans["realistic"][3]
            print(f"[realistic] {plans['realistic'][0]} raters thinking ~{think:g}s each: about "
                  f"{plans['realistic'][0] / think:.0f} ratings/s offered; served "
                  f"{results['realistic']['ratings_per_s']:.1f}/s")  # fmt: skip
        keys = ("ratings_per_s", "next_p50_ms", "next_p95_ms", "submit_p50_ms", "submit_p95_ms", "ratings",
                "raters", "duplicates", "lost", "over_rated", "errors")  # fmt: skip
        last = []
        for mode, prefix in (("saturate", ""), ("realistic", "real_")):
            if mode in results:
                last += [f"{prefix}{k}={results[mode][k]:.1f}" if isinstance(results[mode][k], float)
                         else f"{prefix}{k}={results[mode][k]}" for k in keys]  # fmt: skip
        db = next(iter(results.values()))["db"]
        if "saturate" in results:
            last.append(f"ratings_per_floor={results['saturate']['ratings_per_s'] / floor_per_s:.3f}")
        print(" ".join([*last, f"floor_per_s={floor_per_s:.1f}", f"db={db}", f"workers={workers}"]))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if dropped:
            pg_drop(*dropped)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
