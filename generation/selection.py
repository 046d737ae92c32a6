"""Which of a prompt's samples becomes its response: the paper's rule, as a pure function.

Scores are summed log probabilities (no length normalisation), so they are <= 0 and a
score close to 0 means "very likely". Degenerate outputs (repetitions, near-empty
answers) are suspiciously likely, so the paper's rule drops every sample whose score is
better than half of the median score and keeps the best of the rest:

    m = median(scores)            (mean of the two middle values for an even count)
    threshold = m / 2
    kept = [i for i, s in enumerate(scores) if s <= threshold]
    index = the kept sample with the highest score; ties go to the lower index

The `none` policy keeps everything and chooses the plain best score (for comparison).

Edge cases, decided here once:
- an empty list gives `Selection(index=None, kept=(), threshold=None)`;
- NaN or infinite scores raise ValueError (a broken score must never pick a response);
- with log probabilities the filter always keeps at least the median sample (m <= m/2
  when m <= 0). Only for positive "scores", which log probabilities never are, can the
  filter drop everything: then `kept` is empty (the filter's verdict is reported as is)
  and `index` falls back to the highest score, so a prompt still gets a response.

No Django, no torch: importable anywhere.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

POLICIES = ("paper", "none")


@dataclass(frozen=True)
class Selection:
    index: int | None
    kept: tuple[int, ...]
    threshold: float | None


def _best(scores: Sequence[float], among: Sequence[int]) -> int:
    # max() returns the first maximal element, which is the lower index on ties.
    return max(among, key=lambda i: scores[i])


def select_response(scores: Sequence[float], policy: str = "paper") -> Selection:
    """Apply `policy` ("paper" or "none") to one prompt's sample scores."""
    if policy not in POLICIES:
        raise ValueError(f"unknown selection policy {policy!r}: use one of {', '.join(POLICIES)}")
    values = [float(s) for s in scores]
    for i, value in enumerate(values):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"score {i} is {value!r}: scores must be finite numbers")
    if not values:
        return Selection(index=None, kept=(), threshold=None)
    everything = tuple(range(len(values)))
    if policy == "none":
        return Selection(index=_best(values, everything), kept=everything, threshold=None)
    threshold = statistics.median(values) / 2
    kept = tuple(i for i in everything if values[i] <= threshold)
    index = _best(values, kept) if kept else _best(values, everything)
    return Selection(index=index, kept=kept, threshold=threshold)
