"""The statistics behind the reports: plain numpy / scipy, no Django.

Every public function takes plain Python or numpy data and returns JSON-serialisable dicts in which an
undefined quantity is ``None`` (never NaN), so a report can be written with ``json.dumps`` as is.

Vocabulary used throughout:
- an *outcome* is one rating seen from the candidate's side: ``"win"``, ``"loss"``, ``"tie"`` or
  ``"both_bad"``;
- a *unit* is what the bootstrap resamples: the prompt, because the ratings of one prompt share the
  prompt's difficulty and are not independent.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats as sps

OUTCOMES = ("win", "loss", "tie", "both_bad")
Z95 = float(sps.norm.ppf(0.975))
DEFAULT_BOOTSTRAP_ROUNDS = 1000
# A weak Gaussian prior on the Bradley-Terry log-strengths: it changes nothing visible with a real
# amount of data but keeps the strengths finite when a system wins (or loses) all of its comparisons.
BT_RIDGE = 0.01
ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0


def _num(value: float | np.floating | None) -> float | None:
    """A float for JSON: ``None`` for anything undefined."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------------
# Intervals and tests for one proportion
# ---------------------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson (1927) score interval; ``(None, None)`` when there is nothing to estimate."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p_value(successes: int, n: int, *, p: float = 0.5) -> float | None:
    """Two-sided exact binomial test (the Clopper-Pearson family) against ``p``."""
    if n <= 0:
        return None
    return float(sps.binomtest(int(successes), int(n), p, alternative="two-sided").pvalue)


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


def _unit_outcome_matrix(outcomes: Sequence[str], units: Sequence[Hashable]) -> np.ndarray:
    """Rows: units (sorted, so the result does not depend on input order); columns: OUTCOMES."""
    index = {unit: i for i, unit in enumerate(sorted(set(units), key=repr))}
    matrix = np.zeros((len(index), len(OUTCOMES)), dtype=np.int64)
    column = {name: j for j, name in enumerate(OUTCOMES)}
    for outcome, unit in zip(outcomes, units, strict=True):
        matrix[index[unit], column[outcome]] += 1
    return matrix


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
    return _num(low), _num(high)


def preference_block(
    outcomes: Sequence[str],
    units: Sequence[Hashable] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, Any]:
    """Preference of the candidate over the baseline from per-rating outcomes.

    ``units`` (usually prompt ids, one per outcome) enables the prompt bootstrap when some unit carries
    more than one rating; otherwise the interval is Wilson's on wins vs losses. ``p_value`` is always
    the two-sided exact binomial test of wins vs losses against 0.5.
    """
    counts = preference_counts(outcomes)
    wins, losses, ties, both_bad = counts["wins"], counts["losses"], counts["ties"], counts["both_bad"]
    n = wins + losses + ties + both_bad
    decisive = wins + losses
    wilson_low, wilson_high = wilson_interval(wins, decisive)
    block: dict[str, Any] = {
        "n": n,
        "wins": wins,
        "losses": losses,
        "ties": ties,
        "both_bad": both_bad,
        "decisive": decisive,
        "preference_rate": _num(wins / decisive) if decisive else None,
        "preference_rate_ties_half": _num((wins + ties / 2 + both_bad / 2) / n) if n else None,
        "ci_low": wilson_low,
        "ci_high": wilson_high,
        "ci_method": "wilson",
        "wilson_low": wilson_low,
        "wilson_high": wilson_high,
        "p_value": binomial_p_value(wins, decisive),
        "p_value_method": "exact_binomial",
        "units": None,
    }
    if units is None or n == 0:
        return block
    matrix = _unit_outcome_matrix(outcomes, units)
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


def preference_by_group(
    outcomes: Sequence[str],
    groups: Sequence[str],
    units: Sequence[Hashable] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
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
        )
    return result


# ---------------------------------------------------------------------------------------------------
# Agreement between raters
# ---------------------------------------------------------------------------------------------------


def _category_table(items: Mapping[Hashable, Sequence[Hashable]]) -> tuple[np.ndarray, list[Hashable]]:
    categories = sorted({label for labels in items.values() for label in labels}, key=repr)
    column = {label: j for j, label in enumerate(categories)}
    table = np.zeros((len(items), len(categories)), dtype=np.float64)
    for i, labels in enumerate(items.values()):
        for label in labels:
            table[i, column[label]] += 1
    return table, categories


def fleiss_kappa(table: np.ndarray) -> float | None:
    """Fleiss (1971) kappa on an items x categories count table.

    With unequal numbers of ratings per item, observed agreement is averaged per item and chance
    agreement comes from the pooled category shares (the usual generalisation); with equal numbers
    it is exactly Fleiss' statistic.
    """
    m = table.sum(axis=1)
    if table.size == 0 or (m < 2).any():
        return None
    p_item = (np.square(table).sum(axis=1) - m) / (m * (m - 1))
    p_bar = p_item.mean()
    shares = table.sum(axis=0) / m.sum()
    p_e = float(np.square(shares).sum())
    if math.isclose(p_e, 1.0):
        return None
    return _num((p_bar - p_e) / (1 - p_e))


def krippendorff_alpha_nominal(table: np.ndarray) -> float | None:
    """Krippendorff's alpha for nominal data from an items x categories count table.

    Built on the coincidence matrix, so items may carry different numbers of ratings; items with a
    single rating carry no pairing information and are ignored.
    """
    table = table[table.sum(axis=1) >= 2]
    if table.size == 0:
        return None
    m = table.sum(axis=1)
    weighted = table / (m - 1)[:, None]
    coincidence = weighted.T @ table - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    disagreement_observed = coincidence.sum() - np.trace(coincidence)
    disagreement_expected = (n * n - np.square(n_c).sum()) / (n - 1)
    if disagreement_expected <= 0:
        return None
    return _num(1.0 - disagreement_observed / disagreement_expected)


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa for two raters over the same items."""
    n = len(labels_a)
    if n == 0 or n != len(labels_b):
        return None
    observed = sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / n
    count_a, count_b = Counter(labels_a), Counter(labels_b)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return _num((observed - expected) / (1 - expected))


def agreement(
    ratings: Sequence[tuple[Hashable, str, Hashable]],
    *,
    min_shared_items: int = 5,
) -> dict[str, Any]:
    """Agreement over items that carry at least two ratings.

    ``ratings`` holds ``(item, rater, label)`` triples; labels must name the system (or tie / both
    bad), not the side, so that two raters who saw different layouts still agree. A rater who rated
    an item twice counts once (their first rating).
    """
    by_item: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    for item, rater, label in ratings:
        by_item[item].setdefault(rater, label)
    multi = {item: list(raters.values()) for item, raters in by_item.items() if len(raters) >= 2}
    block: dict[str, Any] = {
        "items": len(multi),
        "ratings": sum(len(labels) for labels in multi.values()),
        "percent_agreement": None,
        "fleiss_kappa": None,
        "krippendorff_alpha": None,
        "cohen_kappa": [],
        "min_shared_items": min_shared_items,
    }
    if not multi:
        return block
    table, _ = _category_table(multi)
    m = table.sum(axis=1)
    block["percent_agreement"] = _num(((np.square(table).sum(axis=1) - m) / (m * (m - 1))).mean())
    block["fleiss_kappa"] = fleiss_kappa(table)
    block["krippendorff_alpha"] = krippendorff_alpha_nominal(table)
    raters = sorted({rater for raters in by_item.values() for rater in raters if len(raters) >= 2})
    for first, second in combinations(raters, 2):
        shared = [item for item in multi if first in by_item[item] and second in by_item[item]]
        if len(shared) < min_shared_items:
            continue
        labels_a = [by_item[item][first] for item in shared]
        labels_b = [by_item[item][second] for item in shared]
        block["cohen_kappa"].append(
            {
                "rater_a": first,
                "rater_b": second,
                "items": len(shared),
                "percent_agreement": _num(
                    sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / len(shared)
                ),
                "kappa": cohen_kappa(labels_a, labels_b),
            }
        )
    return block


# ---------------------------------------------------------------------------------------------------
# Position bias and raters
# ---------------------------------------------------------------------------------------------------


def position_bias(left_won: Sequence[bool]) -> dict[str, Any]:
    """How often the response shown on the left wins among decisive votes (True: left won)."""
    n = len(left_won)
    left = int(sum(bool(x) for x in left_won))
    low, high = wilson_interval(left, n)
    return {
        "decisive": n,
        "left_wins": left,
        "right_wins": n - left,
        "left_rate": _num(left / n) if n else None,
        "ci_low": low,
        "ci_high": high,
        "p_value": binomial_p_value(left, n),
    }


def rater_summaries(
    ratings: Sequence[tuple[Hashable, str, Hashable, float, Hashable | None]],
) -> list[dict[str, Any]]:
    """Per rater: count, median seconds, agreement with the majority of the others, gold accuracy.

    ``ratings`` holds ``(item, rater, label, seconds, gold_label)`` where ``gold_label`` is the known
    answer of a gold item (``None`` otherwise). The majority of the others is their most frequent label
    on the item; items where the others have no single most frequent label are left out.
    """
    by_item: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    per_rater: dict[str, list[tuple[Hashable, Hashable, float, Hashable | None]]] = defaultdict(list)
    for item, rater, label, seconds, gold in ratings:
        by_item[item].setdefault(rater, label)
        per_rater[rater].append((item, label, seconds, gold))
    summaries = []
    for rater in sorted(per_rater):
        rows = per_rater[rater]
        agree = compared = 0
        for own in by_item.values():
            if rater not in own or len(own) < 2:
                continue
            others = Counter(label for other, label in own.items() if other != rater).most_common()
            if len(others) > 1 and others[0][1] == others[1][1]:
                continue
            compared += 1
            agree += int(own[rater] == others[0][0])
        golds = [(label, gold) for _, label, _, gold in rows if gold is not None]
        gold_right = sum(label == gold for label, gold in golds)
        summaries.append(
            {
                "rater": rater,
                "count": len(rows),
                "median_seconds": _num(float(np.median([s for _, _, s, _ in rows]))) if rows else None,
                "majority_items": compared,
                "agreement_with_majority": _num(agree / compared) if compared else None,
                "gold_items": len(golds),
                "gold_accuracy": _num(gold_right / len(golds)) if golds else None,
            }
        )
    return summaries


# ---------------------------------------------------------------------------------------------------
# Bradley-Terry for many systems
# ---------------------------------------------------------------------------------------------------


def pair_index(n_systems: int) -> list[tuple[int, int]]:
    return list(combinations(range(n_systems), 2))


def wins_from_cells(cells: np.ndarray, n_systems: int) -> np.ndarray:
    """(..., pairs*3) cell counts -> (..., K, K) fractional win matrix.

    Cells per pair (i < j): i wins, j wins, no preference (tie or both bad). No preference counts as
    half a win each way.
    """
    pairs = pair_index(n_systems)
    cells = np.asarray(cells, dtype=np.float64).reshape(*cells.shape[:-1], len(pairs), 3)
    wins = np.zeros((*cells.shape[:-2], n_systems, n_systems))
    first = np.array([i for i, _ in pairs], dtype=np.intp)
    second = np.array([j for _, j in pairs], dtype=np.intp)
    half = cells[..., 2] / 2
    wins[..., first, second] = cells[..., 0] + half
    wins[..., second, first] = cells[..., 1] + half
    return wins


def bradley_terry_fit(
    wins: np.ndarray, *, ridge: float = BT_RIDGE, tol: float = 1e-9, max_iter: int = 100
) -> np.ndarray:
    """Log-strengths maximising the Bradley-Terry (1952) likelihood, for a batch of win matrices.

    ``wins`` is (K, K) or (B, K, K) with ``wins[..., i, j]`` the (fractional) wins of i over j. All
    B problems are solved at once by Newton's method: each iteration is a handful of batched array
    operations and one batched K x K solve. The L2 penalty ``ridge`` makes the problem strictly
    concave, so the solution is unique and, at the optimum, the log-strengths sum to zero.
    """
    wins = np.asarray(wins, dtype=np.float64)
    single = wins.ndim == 2
    if single:
        wins = wins[None]
    batch, k, _ = wins.shape
    totals = wins + np.swapaxes(wins, -1, -2)
    won = wins.sum(axis=-1)
    theta = np.zeros((batch, k))
    eye = np.eye(k)
    scale = 1.0 + totals.sum(axis=(-1, -2)).max()
    for _ in range(max_iter):
        diff = theta[:, :, None] - theta[:, None, :]
        prob = 0.5 * (1.0 + np.tanh(0.5 * diff))  # a sigmoid that cannot overflow
        grad = won - (totals * prob).sum(axis=-1) - ridge * theta
        if np.abs(grad).max() <= tol * scale:
            break
        weight = totals * prob * (1.0 - prob)
        hessian = weight.sum(axis=-1)[:, :, None] * eye - weight + ridge * eye
        if ridge == 0:
            # Without the prior only differences are identified: adding 11^T/K pins the step to sum
            # zero (the gradient then sums to zero) and leaves it a Newton step otherwise.
            hessian = hessian + 1.0 / k
        step = np.linalg.solve(hessian, grad[..., None])[..., 0]
        # Far from the optimum a full Newton step can overshoot on a logistic likelihood: cap it.
        theta += np.clip(step, -2.0, 2.0)
    return theta[0] if single else theta


def bradley_terry_negloglik(
    theta: np.ndarray, wins: np.ndarray, ridge: float = BT_RIDGE
) -> tuple[float, np.ndarray]:
    """Penalised negative log-likelihood and its gradient, for one (K, K) win matrix (used by scipy)."""
    diff = theta[:, None] - theta[None, :]
    log_prob = -np.logaddexp(0.0, -diff)
    value = -(wins * log_prob).sum() + 0.5 * ridge * float(theta @ theta)
    totals = wins + wins.T
    prob = 0.5 * (1.0 + np.tanh(0.5 * diff))
    grad = -(wins.sum(axis=1) - (totals * prob).sum(axis=1)) + ridge * theta
    return float(value), grad


def bradley_terry(
    systems: Sequence[str],
    pairs: Sequence[tuple[str, str, str]],
    units: Sequence[Hashable] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, Any]:
    """Bradley-Terry strengths with bootstrap intervals, and the pairwise win-rate matrix.

    ``pairs`` holds ``(system_x, system_y, result)`` with result ``"x"``, ``"y"`` or ``"none"`` (tie or
    both bad: half a win each way). ``units`` (prompt ids) are resampled by the bootstrap; without
    them each rating is its own unit.
    """
    k = len(systems)
    position = {name: i for i, name in enumerate(systems)}
    pair_cells = {pair: n for n, pair in enumerate(pair_index(k))}
    unit_keys: Sequence[Hashable] = list(range(len(pairs))) if units is None else units
    unit_row = {unit: i for i, unit in enumerate(sorted(set(unit_keys), key=repr))}
    cells = np.zeros((len(unit_row), len(pair_cells) * 3), dtype=np.int64)
    for (x, y, result), unit in zip(pairs, unit_keys, strict=True):
        i, j = position[x], position[y]
        if i == j:
            raise ValueError(f"a system cannot be compared with itself: {x}")
        if i > j:
            i, j = j, i
            result = {"x": "y", "y": "x"}.get(result, result)
        outcome = {"x": 0, "y": 1, "none": 2}[result]
        cells[unit_row[unit], pair_cells[(i, j)] * 3 + outcome] += 1
    total_cells = cells.sum(axis=0)
    point_wins = wins_from_cells(total_cells, k)
    theta = bradley_terry_fit(point_wins)
    boot_cells = bootstrap_unit_totals(cells, rounds=rounds, seed=seed)
    boot_theta = bradley_terry_fit(wins_from_cells(boot_cells, k)) if rounds else np.zeros((0, k))
    low, high = np.percentile(boot_theta, [2.5, 97.5], axis=0) if rounds else (theta, theta)
    order = np.argsort(-theta, kind="stable")
    rank_of = {int(i): r + 1 for r, i in enumerate(order)}
    counts = (point_wins + point_wins.T).sum(axis=1)
    scores = [
        {
            "name": systems[i],
            "rank": rank_of[i],
            "ratings": round(counts[i]),
            "score": _num(theta[i]),
            "ci_low": _num(low[i]),
            "ci_high": _num(high[i]),
            "elo": _num(ELO_BASE + ELO_SCALE * theta[i]),
            "elo_ci_low": _num(ELO_BASE + ELO_SCALE * low[i]),
            "elo_ci_high": _num(ELO_BASE + ELO_SCALE * high[i]),
        }
        for i in order
    ]
    decisive = np.zeros((k, k))
    for (i, j), n in pair_cells.items():
        decisive[i, j] = decisive[j, i] = total_cells[n * 3] + total_cells[n * 3 + 1]
        # Rows win against columns; only decisive votes count in the matrix.
    strict = wins_from_cells(total_cells * np.tile([1, 1, 0], len(pair_cells)), k)
    matrix = [
        [_num(strict[i, j] / decisive[i, j]) if decisive[i, j] else None for j in range(k)] for i in range(k)
    ]
    return {
        "method": "bradley_terry_newton",
        "ridge": BT_RIDGE,
        "ci_method": "prompt_bootstrap" if units is not None else "rating_bootstrap",
        "bootstrap_rounds": rounds,
        "scores": scores,
        "win_rate_matrix": {"systems": list(systems), "rows_beat_columns": matrix},
    }


# ---------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def decisive_votes_needed(
    true_rate: float, *, power: float = 0.8, alpha: float = 0.05, method: str = "exact", max_n: int = 200_000
) -> int | None:
    """Decisive votes needed so a two-sided test against 0.5 at ``alpha`` rejects with ``power``.

    ``method="normal"``: the usual normal approximation,
    n = ((z_{1-alpha/2} * 0.5 + z_{power} * sqrt(p(1-p))) / (p - 0.5))^2, rounded up.
    ``method="exact"``: the smallest n whose exact binomial test (reject when the two-sided exact
    p-value is <= alpha) has at least ``power``, computed for every n at once. Exact power is a
    sawtooth in n, so the result is the first n that reaches it.
    """
    if not 0.0 < true_rate < 1.0 or math.isclose(true_rate, 0.5):
        return None
    z_alpha = float(sps.norm.ppf(1 - alpha / 2))
    z_power = float(sps.norm.ppf(power))
    effect = abs(true_rate - 0.5)
    normal = math.ceil(((z_alpha * 0.5 + z_power * math.sqrt(true_rate * (1 - true_rate))) / effect) ** 2)
    if method == "normal":
        return normal
    if method != "exact":
        raise ValueError(f"unknown method: {method}")
    upper = min(max_n, 2 * normal + 50)
    n = np.arange(1, upper + 1)
    # For p = 0.5 the null is symmetric: the exact two-sided p-value of k is 2 * min(cdf(k), sf(k - 1)),
    # so the rejection region is k <= c or k >= n - c with c the largest k having 2 * cdf(k) <= alpha.
    c = sps.binom.ppf(alpha / 2, n, 0.5)
    c = np.where(2 * sps.binom.cdf(c, n, 0.5) <= alpha, c, c - 1)
    reach = sps.binom.cdf(c, n, true_rate) + sps.binom.sf(n - c - 1, n, true_rate)
    reach = np.where(c >= 0, reach, 0.0)
    hits = np.nonzero(reach >= power)[0]
    return int(n[hits[0]]) if hits.size else None


def power_table(
    *,
    decisive_share: float | None = None,
    true_rates: Sequence[float] = (0.55, 0.6, 0.65, 0.7, 0.75),
    power: float = 0.8,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Prompts needed per true preference rate; ``decisive_share`` (share of non-tie votes) scales votes."""
    share = decisive_share if decisive_share and decisive_share > 0 else 1.0
    rows = []
    for rate in true_rates:
        exact = decisive_votes_needed(rate, power=power, alpha=alpha, method="exact")
        normal = decisive_votes_needed(rate, power=power, alpha=alpha, method="normal")
        rows.append(
            {
                "true_preference_rate": rate,
                "decisive_votes_exact": exact,
                "decisive_votes_normal": normal,
                "prompts_exact": math.ceil(exact / share) if exact else None,
                "prompts_normal": math.ceil(normal / share) if normal else None,
            }
        )
    return {
        "power": power,
        "alpha": alpha,
        "decisive_share": _num(share),
        "method": "exact binomial (first n reaching the power) and normal approximation; prompts = votes / decisive share",
        "rows": rows,
    }
