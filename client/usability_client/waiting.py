"""Waiting with a progress bar: tqdm's when installed (`pip install usability-client[progress]`),
otherwise one line on stderr rewritten in place."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from usability_client.errors import WaitTimeout

sleep = time.sleep  # module-level, so a test can stand in for the passing of time


class Bar:
    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled, self.tqdm = label, enabled, None
        if enabled:
            try:
                from tqdm import tqdm

                self.tqdm = tqdm(desc=label, unit="item", file=sys.stderr)
            except ImportError:
                pass

    def update(self, done: int, total: int, status: str) -> None:
        if not self.enabled:
            return
        if self.tqdm is not None:
            self.tqdm.total = total
            self.tqdm.n = done
            self.tqdm.set_postfix_str(status)
            self.tqdm.refresh()
        else:
            share = f"{100 * done / total:5.1f} %" if total else "  ?  "
            sys.stderr.write(f"\r{self.label}: {done}/{total} {share} {status}   ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.enabled:
            sys.stderr.write("\n")


def wait_until(
    poll: Callable[[], dict[str, Any]],
    finished: Callable[[dict[str, Any]], bool],
    *,
    label: str,
    progress: bool = True,
    interval: float = 2.0,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Poll until `finished(state)`; returns the last state. WaitTimeout after `timeout` seconds."""
    started = time.monotonic()
    bar = Bar(label, progress)
    try:
        while True:
            state = poll()
            bar.update(
                int(state.get("done", 0)),
                int(state.get("total", state.get("needed", 0))),
                str(state.get("status", "")),
            )
            if finished(state):
                return state
            if timeout is not None and time.monotonic() - started > timeout:
                raise WaitTimeout(f"{label}: still not finished after {timeout:g} s")
            sleep(interval)
    finally:
        bar.close()
