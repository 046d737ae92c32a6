"""How much CPU does a rating cost, in Django and in PostgreSQL, against the stack's floor? (issue 31)

    bin/with-services .venv/bin/python bench/rating_cpu.py [--size 6600] [--raters 25] [--ratings 20]
        [--rounds 3] [--floor 500]

Needs PostgreSQL on this machine (DATABASE_URL, as bin/with-services sets it on a throwaway server):
it reads the CPU time of its own server process from /proc. It migrates that database and builds
a campaign of --size comparisons (bench/rating_scale.py's build). Each round, in this one process:
- rating: --raters raters open the page (one fetch-next) and make --ratings ratings each through
  the page's submit-with-next call (Django's test client, the full middleware stack, no HTTP),
  one at a time;
- floor: --floor `/healthz` calls (bench/rating_load.py's floor over HTTP), the same way.
For each, the CPU per call of this process (Django, psycopg) and of its PostgreSQL backend.

`bench/rating_load.py` measures ratings/s over HTTP, which moves by 10-20 % between runs on a
shared machine: CPU time per call is the steadier measure of a change to the rating path.
The last line is `rating_py_ms=… rating_pg_ms=… floor_py_ms=… floor_pg_ms=… rating_cpu_per_floor=…`,
medians over the rounds (the first round, which prepares the statements, is not counted);
`rating_cpu_per_floor` is a rating's CPU (both processes) over a floor call's.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="rating-cpu-"))  # var/ is not touched
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench import rating_scale  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """CPU seconds (user and system) of a local process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rater_client(session: str, base: str) -> tuple[Client, dict[str, Any]]:
    csrf = "".join(secrets.choice(string.ascii_letters) for _ in range(32))
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = session
    client.cookies["csrftoken"] = csrf
    headers = {"HTTP_X_CSRFTOKEN": csrf, "HTTP_REFERER": f"http://127.0.0.1{base}"}
    return client, headers


def rate(
    raters: list, sessions: dict[str, str], campaign_id: int, ratings: int, pid: int
) -> tuple[float, float]:
    """CPU ms per submit-with-next call: (this process, the database backend)."""
    base = f"/rate/task/{campaign_id}/"
    clients = [rater_client(sessions[user.username], base) for user in raters]
    states = [
        client.post(base + "next", data="{}", content_type="application/json", **headers).json()
        for client, headers in clients
    ]
    py, pg, calls = time.process_time(), backend_cpu(pid), 0
    for _ in range(ratings):
        for i, (client, headers) in enumerate(clients):
            if states[i]["item"] is None:
                continue
            body = json.dumps(
                {"token": states[i]["item"]["token"], "side": "left", "seconds": 5, "next": True}
            )
            got = client.post(base + "submit", data=body, content_type="application/json", **headers)
            if got.status_code != 200:
                sys.exit(f"rating_cpu: submit answered {got.status_code}: {got.content[:200]!r}")
            states[i] = got.json()
            calls += 1
    if not calls:
        sys.exit("rating_cpu: nothing left to rate: give a larger --size")
    return (time.process_time() - py) / calls * 1000, (backend_cpu(pid) - pg) / calls * 1000


def floor(n: int, pid: int) -> tuple[float, float]:
    """CPU ms per /healthz call (the floor bench/rating_load.py divides by)."""
    client = Client(HTTP_HOST="127.0.0.1")
    py, pg = time.process_time(), backend_cpu(pid)
    for _ in range(n):
        if client.get("/healthz").status_code != 200:
            sys.exit("rating_cpu: /healthz is not healthy (no broker?): run under bin/with-services")
    return (time.process_time() - py) / n * 1000, (backend_cpu(pid) - pg) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=6600, help="comparisons in the campaign")
    parser.add_argument("--raters", type=int, default=25, help="raters per round")
    parser.add_argument("--ratings", type=int, default=20, help="ratings per rater per round")
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds (after one warm-up)")
    parser.add_argument("--floor", type=int, default=500, help="/healthz calls per round")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("rating_cpu: needs PostgreSQL (run it under bin/with-services)")
    call_command("migrate", verbosity=0)
    campaign, raters, _ = rating_scale.build(
        f"cpu{secrets.randbelow(10**6)}", args.size, args.raters * (args.rounds + 1)
    )
    sessions = rating_scale.sessions_for(raters)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    if not Path(f"/proc/{pid}/stat").exists():
        sys.exit("rating_cpu: the database's server process is not on this machine")
    rows = []
    for round_ in range(args.rounds + 1):
        group = raters[round_ * args.raters : (round_ + 1) * args.raters]
        rating = rate(group, sessions, campaign.pk, args.ratings, pid)
        base = floor(args.floor, pid)
        label = "warm-up" if round_ == 0 else f"round {round_}"
        print(
            f"[{label}] rating: {rating[0]:.2f} ms here + {rating[1]:.2f} ms in PostgreSQL; "
            f"/healthz: {base[0]:.2f} + {base[1]:.2f} ms",
            flush=True,
        )
        if round_:
            rows.append((*rating, *base))
    py, pg, floor_py, floor_pg = (statistics.median(column) for column in zip(*rows, strict=True))
    print(
        f"rating_py_ms={py:.2f} rating_pg_ms={pg:.2f} floor_py_ms={floor_py:.2f} floor_pg_ms={floor_pg:.2f} "
        f"rating_cpu_per_floor={(py + pg) / (floor_py + floor_pg):.2f}"
    )


if __name__ == "__main__":
    main()
