"""Progress for long commands: tqdm's bar on a terminal, a plain line every few seconds elsewhere.

tqdm with `disable=None` shows nothing when stderr is a pipe or a log file, and without it writes
carriage-return frames that pile up into one unreadable line; a log wants whole lines, now and then.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

EVERY_SECONDS = 5.0


class LineProgress:
    """The part of tqdm's interface our commands use, printing one line every `every` seconds."""

    def __init__(
        self, *, total: int, desc: str, unit: str, file: IO[str], every: float = EVERY_SECONDS
    ) -> None:
        self.total, self.desc, self.unit, self.file, self.every = total, desc, unit, file, every
        self.n = 0
        self._postfix: dict[str, object] = {}
        self._last = time.monotonic()
        self._printed_n: int | None = None

    def update(self, count: int = 1) -> None:
        self.n += count
        self.refresh()

    def set_postfix(self, values: dict[str, object], refresh: bool = True) -> None:
        self._postfix = dict(values)
        if refresh:
            self.refresh()

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line()

    def _line(self) -> None:
        percent = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = "".join(
            f", {k}={v:.4g}" if isinstance(v, float) else f", {k}={v}" for k, v in self._postfix.items()
        )
        self.file.write(f"{self.desc}: {self.n}/{self.total} {self.unit}s{percent}{extra}\n")
        self.file.flush()
        self._printed_n = self.n

    def close(self) -> None:
        if self._printed_n != self.n:
            self._line()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(*, total: int, desc: str, unit: str, file: IO[str] | None = None) -> Any:
    """A tqdm bar when `file` (stderr by default) is a terminal, else a `LineProgress`."""
    out = file if file is not None else sys.stderr
    if out.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=out)
    return LineProgress(total=total, desc=desc, unit=unit, file=out)
