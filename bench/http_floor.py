"""The floor of the serving stack: how many near-empty requests the same server and client manage.

`rating_load` runs it against its own gunicorn before the rating phases, with as many client
threads as saturating raters, so that ratings/s can be read as a share of what this machine's
stack (client, gunicorn, Django's middleware, one database query and one broker check in /healthz)
does at all: a figure that carries over between machines better than ratings/s alone.
"""

from __future__ import annotations

import http.client
import os
import threading
import time


def default_workers() -> int:
    """gunicorn sync workers for the serving benchmarks: one per core.

    PostgreSQL runs on the same cores. On 2 cores, 2 workers served more ratings per second than 3
    in each of six alternated pairs of `rating_load --mode saturate` (279-361 against 235-331; 0.47-0.59
    of the floor against 0.37-0.45), and spent less of their CPU per rating (3.9 against 4.4 ms in a
    pair measured from /proc): the third worker only adds switching between processes. `--workers`
    sets another count.
    """
    return os.cpu_count() or 1


def _hammer(port: int, deadline: float, times: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
                return
            times.append((time.perf_counter() - start) * 1000)
    except Exception as exc:  # a client error ends this thread; the count says how many
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def floor(*, port: int, threads: int, seconds: float) -> tuple[float, float, int]:
    """(requests per second, p95 ms, errors) of `threads` clients calling /healthz for `seconds`."""
    deadline = time.monotonic() + seconds
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    workers = [
        threading.Thread(target=_hammer, args=(port, deadline, times, errors), daemon=True)
        for times in per_thread
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 60)
    wall = time.perf_counter() - start
    times = sorted(t for chunk in per_thread for t in chunk)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else float("nan")
    return (len(times) / wall if wall else 0.0), p95, len(errors)
