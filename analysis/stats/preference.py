"""Preference of a candidate over a baseline: counts, rates, Wilson or prompt-bootstrap intervals."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from analysis.stats.proportion import (
    DEFAULT_BOOTSTRAP_ROUNDS,
    OUTCOMES,
    binomial_p_value,
    finite_or_none,
    wilson_interval,
)

# ---------------------------------------------------------------------------------------------------
# Preference of a candidate over a baseline
# ---------------------------------------------------------------------------------------------------


def preference_counts(outcomes: Iterable[str]) -> dict[str, int]:
    counts = Counter(outcomes)
    unknown = set(counts) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"unknown outcome(s): {sorted(unknown)}")
    return {
        "wins": counts["win"],
        "losses": counts["loss"],
        "ties": counts["tie"],
        "both_bad": counts["both_bad"],
    }


def unit_order(units: Iterable[Hashable]) -> dict[Hashable, int]:
    """Each unit's place in the order of the matrix rows (by repr); a subset's rows keep this order."""
    return {unit: i for i, unit in enumerate(sorted(set(units), key=repr))}


def _unit_outcome_matrix(
    outcomes: Sequence[str], units: Sequence[Hashable], order: Mapping[Hashable, int] | None = None
) -> np.ndarray:
    """Rows: units (sorted, so the result does not depend on input order); columns: OUTCOMES.

    ``order`` (``unit_order`` of these units or of more) sorts by number instead of by repr: the
    groups of a report share one sort of its units instead of one each.
    """
    if order is None:
        index = unit_order(units)
    else:
        index = {unit: i for i, unit in enumerate(sorted(set(units), key=order.__getitem__))}
    column = {name: j for j, name in enumerate(OUTCOMES)}
    if len(outcomes) != len(units):
        raise ValueError("one unit per outcome")
    # One bincount over (row, column) cells instead of an item assignment per rating.
    rows = np.fromiter((index[unit] for unit in units), dtype=np.int64, count=len(units))
    columns = np.fromiter((column[outcome] for outcome in outcomes), dtype=np.int64, count=len(outcomes))
    cells = np.bincount(rows * len(OUTCOMES) + columns, minlength=len(index) * len(OUTCOMES))
    return cells.astype(np.int64).reshape(len(index), len(OUTCOMES))


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows, the index of each one's first occurrence, and how often each occurs.

    Rows are grouped by a 64-bit hash (a dot product with fixed odd weights, wrapping), then checked
    exactly; only on a hash collision does it fall back to comparing whole rows. np.unique(axis=0)
    does a column-by-column lexsort, which is ten times slower on 20,000 x 135 counts.
    """
    weights = np.random.default_rng(12345).integers(1, 2**62, size=matrix.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        keys = matrix @ weights
    _, first, inverse, multiplicity = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    rows = matrix[first]
    if not np.array_equal(rows[inverse.ravel()], matrix):
        void = matrix.view(np.dtype((np.void, matrix.itemsize * matrix.shape[1]))).ravel()
        _, first, multiplicity = np.unique(void, return_index=True, return_counts=True)
        rows = matrix[first]
    return rows, first, multiplicity


def bootstrap_unit_totals(unit_counts: np.ndarray, *, rounds: int, seed: int) -> np.ndarray:
    """Totals of ``unit_counts`` (units x columns) over ``rounds`` resamples of the units.

    Resampling units with replacement only matters through how often each *distinct* row is drawn,
    and those draw counts are multinomial: so identical rows are merged first, which turns a
    20,000-rating resample into a multinomial over at most a few hundred cells. Returns
    (rounds x columns), float64.
    """
    n_units = unit_counts.shape[0]
    if n_units == 0:
        return np.zeros((rounds, unit_counts.shape[1]))
    rows, first, multiplicity = _distinct_rows(np.ascontiguousarray(unit_counts, dtype=np.int64))
    # Order the groups by where they first occur, not by content: relabelling the columns (swapping
    # baseline and candidate) must not change which group gets which draw, or mirrored reports differ.
    order = np.argsort(first, kind="stable")
    rows, multiplicity = rows[order], multiplicity[order]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_units, multiplicity / n_units, size=rounds)
    return draws.astype(np.float64) @ rows.astype(np.float64)


def _percentile_interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    return finite_or_none(low), finite_or_none(high)


def preference_block(
    outcomes: Sequence[str],
    units: Sequence[Hashable] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
    order: Mapping[Hashable, int] | None = None,
) -> dict[str, Any]:
    """Preference of the candidate over the baseline from per-rating outcomes.

    ``order``: ``unit_order`` of ``units`` (or of more units), when made already.

    ``units`` (usually prompt ids, one per outcome) enables the prompt bootstrap when some unit carries
    more than one rating; otherwise the interval is Wilson's on wins vs losses. ``p_value`` is always
    the two-sided exact binomial test of wins vs losses against 0.5.
    """
    counts = preference_counts(outcomes)
    block = _counted_block(counts["wins"], counts["losses"], counts["ties"], counts["both_bad"])
    if units is None or block["n"] == 0:
        return block
    return _bootstrapped(block, _unit_outcome_matrix(outcomes, units, order), rounds=rounds, seed=seed)


def _counted_block(wins: int, losses: int, ties: int, both_bad: int) -> dict[str, Any]:
    n = wins + losses + ties + both_bad
    decisive = wins + losses
    wilson_low, wilson_high = wilson_interval(wins, decisive)
    return {
        "n": n,
        "wins": wins,
        "losses": losses,
        "ties": ties,
        "both_bad": both_bad,
        "decisive": decisive,
        "preference_rate": finite_or_none(wins / decisive) if decisive else None,
        "preference_rate_ties_half": finite_or_none((wins + ties / 2 + both_bad / 2) / n) if n else None,
        "ci_low": wilson_low,
        "ci_high": wilson_high,
        "ci_method": "wilson",
        "wilson_low": wilson_low,
        "wilson_high": wilson_high,
        "p_value": binomial_p_value(wins, decisive),
        "p_value_method": "exact_binomial",
        "units": None,
    }


def _bootstrapped(block: dict[str, Any], matrix: np.ndarray, *, rounds: int, seed: int) -> dict[str, Any]:
    """``block`` with the prompt bootstrap's interval when some unit (a row of ``matrix``) has several ratings."""
    block["units"] = int(matrix.shape[0])
    if matrix.sum(axis=1).max() <= 1:
        return block
    totals = bootstrap_unit_totals(matrix, rounds=rounds, seed=seed)
    boot_wins, boot_losses = totals[:, 0], totals[:, 1]
    boot_n = totals.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = boot_wins / (boot_wins + boot_losses)
        rate_half = (boot_wins + totals[:, 2] / 2 + totals[:, 3] / 2) / boot_n
    block["ci_low"], block["ci_high"] = _percentile_interval(rate)
    block["ci_method"] = "prompt_bootstrap"
    block["ties_half_ci_low"], block["ties_half_ci_high"] = _percentile_interval(rate_half)
    block["bootstrap_rounds"] = rounds
    return block


def preference_block_codes(
    outcomes: np.ndarray,
    units: np.ndarray | None = None,
    *,
    rank: np.ndarray | None = None,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, Any]:
    """``preference_block`` on arrays: ``outcomes`` are codes of OUTCOMES (0 win, 1 loss, 2 tie, 3 both
    bad), ``units`` non-negative unit codes and ``rank`` each unit code's row in the matrix order
    (``unit_order``'s; by code when None). The same block as ``preference_block`` on the same ratings."""
    counts = np.bincount(outcomes, minlength=len(OUTCOMES)).tolist()
    block = _counted_block(*counts)
    if units is None or block["n"] == 0:
        return block
    present = np.unique(units)
    if rank is not None:
        present = present[np.argsort(rank[present], kind="stable")]
    row = np.empty(int(present.max()) + 1, dtype=np.int64)
    row[present] = np.arange(len(present))
    cells = np.bincount(row[units] * len(OUTCOMES) + outcomes, minlength=len(present) * len(OUTCOMES))
    matrix = cells.astype(np.int64).reshape(len(present), len(OUTCOMES))
    return _bootstrapped(block, matrix, rounds=rounds, seed=seed)


def preference_by_group_codes(
    outcomes: np.ndarray,
    groups: np.ndarray,
    names: Sequence[str],
    units: np.ndarray | None = None,
    *,
    rank: np.ndarray | None = None,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``preference_by_group`` on arrays: ``groups`` are codes of ``names``."""
    result = {}
    for code in sorted(np.unique(groups).tolist(), key=lambda code: names[code]):
        mask = groups == code
        result[names[code]] = preference_block_codes(
            outcomes[mask], None if units is None else units[mask], rank=rank, rounds=rounds, seed=seed
        )
    return result


def preference_by_group(
    outcomes: Sequence[str],
    groups: Sequence[str],
    units: Sequence[Hashable] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
    order: Mapping[Hashable, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """One preference block per group value (category, setting...), groups in sorted order."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    result = {}
    for group in sorted(members):
        idx = members[group]
        result[group] = preference_block(
            [outcomes[i] for i in idx],
            None if units is None else [units[i] for i in idx],
            rounds=rounds,
            seed=seed,
            order=order,
        )
    return result
