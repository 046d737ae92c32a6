"""Synthetic rating records for the report tests."""

from __future__ import annotations

import random
from collections.abc import Sequence

from reports.records import RatingRecord

CATEGORIES = ("coding", "writing", "math")
SETTINGS = ("zero_shot", "zero_shot_cot", "few_shot")


def record(**overrides: object) -> RatingRecord:
    fields: dict[str, object] = {
        "campaign": "c1",
        "prompt_id": "p1",
        "category": "coding",
        "setting": "zero_shot",
        "system_a": "base",
        "system_b": "cand",
        "left": "a",
        "choice": "a",
        "rater": "r1",
        "seconds": 10.0,
        "created": "2025-01-01T00:00:00+00:00",
    }
    fields.update(overrides)
    return RatingRecord(**fields)  # type: ignore[arg-type]


def make_records(
    *,
    prompts: int = 30,
    systems: Sequence[str] = ("base", "cand"),
    raters: Sequence[str] = ("r1", "r2", "r3"),
    per_item: int = 1,
    weights: Sequence[float] = (3, 5, 1, 1),
    seed: int = 1,
    with_texts: bool = False,
) -> list[RatingRecord]:
    rng = random.Random(seed)
    out = []
    for p in range(prompts):
        category, setting = rng.choice(CATEGORIES), rng.choice(SETTINGS)
        for i, a in enumerate(systems):
            for b in systems[i + 1 :]:
                for rater in rng.sample(list(raters), per_item):
                    out.append(
                        record(
                            prompt_id=f"p{p}",
                            category=category,
                            setting=setting,
                            system_a=a,
                            system_b=b,
                            left=rng.choice("ab"),
                            choice=rng.choices(["a", "b", "tie", "both_bad"], weights)[0],
                            rater=rater,
                            seconds=round(rng.uniform(5, 60), 2),
                            prompt_text=f"prompt {p}" if with_texts else None,
                            text_a=f"answer of {a} to {p}" if with_texts else None,
                            text_b=f"answer of {b} to {p}" if with_texts else None,
                        )
                    )
    return out
