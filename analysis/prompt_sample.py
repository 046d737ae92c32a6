"""Drawing part of an evaluation set for a campaign: seeded, stratified by (category, setting).

The rule, pure so that it can be checked exhaustively:

- **Units.** A prompt that is a variant of another prompt in the pool (``variant_of``, e.g. the
  chain-of-thought version of a zero-shot prompt) travels with its base: base and variants form one
  unit, drawn or left out together, so a sampled campaign still compares the same instruction across
  settings. A unit belongs to its base's stratum. A variant whose base is not in the pool is a unit
  of its own, in its own (category, setting). ``n`` counts units, so a set with variants gives a
  campaign of ``n`` base prompts plus their variants.
- **Allocation.** Each stratum gets ``n * size / total`` units rounded by largest remainders
  (Hamilton's method; ties go to the larger stratum, then the earlier one in sorted order). When
  ``n`` is at least the number of strata, every stratum gets at least one unit, taken from the stratum
  whose allocation most exceeds its exact share: a campaign with a cell of zero prompts could not
  report that cell at all. No stratum gets more units than it has.
- **Draw.** Within a stratum the units are drawn uniformly with ``random.Random(seed)``, visiting strata
  in sorted order, so the same pool, ``n`` and seed give the same prompts on any machine (another lab
  can reproduce the sample from the recorded seed). The seed is not secret: which prompts a campaign
  rates is no secret from researchers, and raters never see it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

Stratum = tuple[str, str]


@dataclass(frozen=True)
class PromptKey:
    """What the rule needs of a prompt: its id, its stratum and the prompt it is a variant of."""

    uid: str
    category: str
    setting: str
    variant_of: str | None = None


class SampleError(ValueError):
    """The sample cannot be drawn as asked (``n`` out of range)."""


def prompt_units(prompts: Sequence[PromptKey]) -> dict[Stratum, list[list[str]]]:
    """The pool's units (base first, then its variants in pool order), grouped by stratum."""
    uids = {p.uid for p in prompts}
    variants: dict[str, list[str]] = {}
    for p in prompts:
        if p.variant_of and p.variant_of in uids and p.variant_of != p.uid:
            variants.setdefault(p.variant_of, []).append(p.uid)
    units: dict[Stratum, list[list[str]]] = {}
    for p in prompts:
        if p.variant_of and p.variant_of in uids and p.variant_of != p.uid:
            continue  # drawn with its base
        units.setdefault((p.category, p.setting), []).append([p.uid, *variants.get(p.uid, [])])
    return units


def allocate(sizes: dict[Stratum, int], n: int) -> dict[Stratum, int]:
    """Units per stratum: largest remainders, at least one each when ``n`` covers every stratum."""
    total = sum(sizes.values())
    if not 0 < n <= total:
        raise SampleError(f"the sample size must be between 1 and {total}, not {n}")
    order = sorted(sizes)
    exact = {s: Fraction(n * sizes[s], total) for s in order}
    alloc = {s: int(exact[s]) for s in order}
    left = n - sum(alloc.values())
    by_remainder = sorted(order, key=lambda s: (-(exact[s] - alloc[s]), -sizes[s], order.index(s)))
    for s in by_remainder[:left]:
        alloc[s] += 1
    if n >= len(order):
        for s in sorted((s for s in order if alloc[s] == 0), key=lambda s: (-exact[s], order.index(s))):
            donor = max(
                (d for d in order if alloc[d] > 1),
                key=lambda d: (alloc[d] - exact[d], sizes[d], -order.index(d)),
            )
            alloc[donor] -= 1
            alloc[s] += 1
    return alloc


def stratified_sample(prompts: Sequence[PromptKey], *, n: int, seed: int) -> list[str]:
    """The uids drawn (base prompts and their variants), in the pool's order."""
    units = prompt_units(prompts)
    alloc = allocate({s: len(u) for s, u in units.items()}, n)
    rng = random.Random(seed)
    chosen: set[str] = set()
    for stratum in sorted(units):
        for unit in rng.sample(units[stratum], alloc[stratum]):
            chosen.update(unit)
    return [p.uid for p in prompts if p.uid in chosen]
