"""Mixing: examples-proportional rates with caps, and drawing a rendered mixture for a seed."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from finetune.mixture.rendering import RenderedExample, render_example
from finetune.mixture.schema import Mixture, MixtureError, Task


def mixing_rates(mixture: Mixture) -> dict[str, float]:
    """Examples-proportional rates with a per-task cap, then sub-mixture weights on top.

    Within a sub-mixture a task's share is ``min(size, cap) * weight`` over the sum of
    those; a sub-mixture's tasks together get its weight over the sum of sub-mixture
    weights. Rates sum to 1.
    """
    sub_total = sum(s.weight for s in mixture.submixtures if s.tasks)
    rates: dict[str, float] = {}
    for sub in mixture.submixtures:
        sizes = {t.name: t.capped_size() * t.weight for t in sub.tasks}
        total = sum(sizes.values())
        for name, size in sizes.items():
            rates[name] = (sub.weight / sub_total) * (size / total) if total > 0 and sub_total > 0 else 0.0
    norm = sum(rates.values())
    if norm <= 0:
        raise MixtureError(f"mixture {mixture.name!r}: the mixture is empty (no examples to draw)")
    return {k: v / norm for k, v in rates.items()}


def sample_mixture(
    mixture: Mixture,
    num_examples: int | None = None,
    *,
    seed: int | None = None,
    length_fn: Callable[[str], int] = len,
) -> list[RenderedExample]:
    """Draw and render ``num_examples`` examples (default: the sum of capped task sizes).

    Tasks are drawn by their mixing rate; within a task, examples come from a seeded
    shuffle of its first ``cap`` examples, cycling when exhausted. Same seed, same list.
    """
    seed = mixture.seed if seed is None else seed
    rng = random.Random(seed)
    rates = mixing_rates(mixture)
    names = [n for n, r in rates.items() if r > 0]
    weights = [rates[n] for n in names]
    if num_examples is None:
        num_examples = sum(mixture.task(n).capped_size() for n in names)
    pools: dict[str, Iterator[int]] = {}

    def cycle(task: Task) -> Iterator[int]:
        order = list(range(task.size()))
        random.Random(f"{seed}:{task.name}").shuffle(order)
        order = order[: task.cap]
        while True:
            yield from order

    out = []
    for name in rng.choices(names, weights=weights, k=num_examples):
        task = mixture.task(name)
        if name not in pools:
            pools[name] = cycle(task)
        index = next(pools[name])
        out.append(render_example(mixture, task, index, rng, length_fn=length_fn))
    return out


def describe(mixture: Mixture) -> dict[str, Any]:
    """A JSON-able summary: tasks, sizes, caps and rates (for the job record)."""
    # Hub tasks are not loaded just to describe them (the web process creates jobs).
    local = all(t.data is not None or t._examples is not None for t in mixture.tasks)
    rates = mixing_rates(mixture) if local else {}
    return {
        "name": mixture.name,
        "path": str(mixture.path) if mixture.path else None,
        "tasks": [
            {
                "name": t.name,
                "type": t.type,
                "submixture": s.name,
                "size": t.size() if local else None,
                "cap": t.cap,
                "rate": round(rates[t.name], 6) if local else None,
            }
            for s in mixture.submixtures
            for t in s.tasks
        ],
    }
