"""A tqdm bar on stderr that follows a training run's logged metrics (shared by the training commands)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def progress_bar(total: int, desc: str) -> tuple[Any, Callable[[dict[str, Any]], None]]:
    """The bar (close it when done) and the function that moves it to a metrics entry's step."""
    from core.progress import progress_bar as bar_or_lines

    # A tqdm bar on a terminal; through a pipe, a line every few seconds instead of \r frames.
    bar = bar_or_lines(total=total, desc=desc, unit="step", file=sys.stderr)

    def progress(metrics: dict[str, Any]) -> None:
        bar.n = int(metrics.get("step", bar.n))
        shown: dict[str, object] = {
            k: metrics[k] for k in ("loss", "eval_loss", "tokens_per_s") if k in metrics
        }
        if shown:
            bar.set_postfix(shown, refresh=False)
        bar.refresh()

    return bar, progress
