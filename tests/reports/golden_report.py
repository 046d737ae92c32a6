"""A fixed set of rating records (seeded) whose report is kept in tests/reports/data/: the report of
the same data must not change when the report's machinery is made faster (issue 31)."""

from __future__ import annotations

import random
from dataclasses import replace

from analysis.records import RatingRecord
from tests.factories import make_records

GOLDEN_PATH = "tests/reports/data/report_golden.json"
# Markdown of every kind the style counts see: headers, list items, bold spans, fenced code.
_ANSWERS = (
    "# Title\n\n- one\n- two\n\n**bold** text",
    "Plain answer without any markup at all, and rather long " * 3,
    "1. first\n2. second\n\n```python\n# not a header\n- not a list\n```\n__strong__",
    "## A\n### B\n* x\n+ y\n",
    "short",
)


def golden_records() -> list[RatingRecord]:
    """Three systems, three raters, two ratings per item, gold checks and answers with Markdown."""
    rng = random.Random(7)
    records = make_records(prompts=40, systems=("base", "cand", "third"), per_item=2, seed=3, with_texts=True)
    out = []
    for i, r in enumerate(records):
        gold = i % 17 == 0
        out.append(
            replace(
                r,
                text_a=f"{rng.choice(_ANSWERS)} ({r.system_a} {r.prompt_id})",
                text_b=f"{rng.choice(_ANSWERS)} ({r.system_b} {r.prompt_id})" * rng.choice((1, 2)),
                is_gold=gold,
                gold_choice=rng.choice("ab") if gold else "",
                created=f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00",
            )
        )
    return out
