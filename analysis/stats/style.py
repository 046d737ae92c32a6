"""Style control: Bradley-Terry with the answers' style as covariates (Chatbot Arena's method).

The objective is FastChat's (``fastchat/serve/monitor/rating_systems.py``, ``contextual_bt_loss_and_grad``)
exactly: for a comparison of a against b with style features f,

    logit P(a beats b) = ln 10 * (r_a - r_b) + gamma . f
    loss = sum of binary cross-entropies (outcome 1, 0.5 or 0) + (0.5 / 2) * ||(r, gamma)||^2

and the features are theirs (``add_markdown_info.py``, ``preprocess_for_style``): per answer the length
in characters and, after removing fenced code blocks, the number of Markdown headers, list items and
bold spans; per comparison (a_k - b_k) / (a_k + b_k + 1), standardised over the fitted comparisons.
FastChat stops L-BFGS at 100 iterations; we solve to convergence by Newton's method (the problem is
strictly convex, so the optimum is unique and equals theirs wherever theirs has converged).

The bootstrap resamples prompts. Every round starts with an exact Newton step from the full-data
optimum, built from per-prompt gradients and Hessians (one (rounds x prompts) product, no pass over
the comparisons), and is then iterated to convergence with that round's Hessian held fixed, in chunks
of rounds so that memory stays bounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

FEATURES = ("length", "headers", "lists", "bold")
LN10 = math.log(10.0)
# FastChat's `reg`: the gradient carries reg * theta, the loss reg / 2 * ||theta||^2.
STYLE_REG = 0.5
_TOL = 1e-9  # on the largest gradient component, relative to 1 + the number of comparisons
_MAX_ITER = 100
_CHUNK = 128  # bootstrap rounds per chunk: bounds the (rounds x comparisons) arrays
# Elements of one chunk of prompt draws (8 bytes each, twice over); fewer rounds a chunk past it.
_DRAWS_BUDGET = 4_000_000
# Past this many draws (rounds x prompts) the one-step bootstrap draws its sums from their normal
# limit (`_summed_draws`): at 500,000 prompts the exact counts are 5e8 draws for each fit.
_EXACT_DRAWS = 50_000_000
# Work budgets (multiply-adds) for the bootstrap's passes over the comparisons; see `_bootstrap`.
_HESSIAN_BUDGET = 2e8
_PASS_BUDGET = 1.5e8

_FENCED = re.compile(r"```([^`]*)```")
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_ORDERED = re.compile(r"^\s*\d+\.\s", re.MULTILINE)
_UNORDERED = re.compile(r"^\s*[-*+]\s", re.MULTILINE)
_BOLD_STARS = re.compile(r"\*\*[^*\n]+\*\*")
_BOLD_UNDERSCORES = re.compile(r"__[^_\n]+__")


def style_counts(text: str) -> tuple[int, int, int, int]:
    """(characters, headers, list items, bold spans) of one answer, Markdown counted outside code fences."""
    prose = text
    if "```" in text:
        # FastChat's removal, kept exactly so that counts match theirs: it deletes every occurrence of
        # each fenced block's content anywhere in the answer, and leaves the fences.
        for block in _FENCED.findall(text):
            prose = prose.replace(block, "")
    # The substring tests only skip scans that cannot match.
    return (
        len(text),
        len(_HEADER.findall(prose)) if "#" in prose else 0,
        len(_ORDERED.findall(prose)) + len(_UNORDERED.findall(prose)),
        (len(_BOLD_STARS.findall(prose)) if "**" in prose else 0)
        + (len(_BOLD_UNDERSCORES.findall(prose)) if "__" in prose else 0),
    )


def style_differences(counts_a: np.ndarray, counts_b: np.ndarray) -> np.ndarray:
    """(n x 4) raw features (a - b) / (a + b + 1) from two (n x 4) arrays of counts."""
    a = np.asarray(counts_a, dtype=np.float64)
    b = np.asarray(counts_b, dtype=np.float64)
    return (a - b) / (a + b + 1.0)


def standardise(raw: np.ndarray) -> np.ndarray:
    """Mean 0, population standard deviation 1 per column; a constant column becomes 0 (it explains nothing)."""
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, (raw - mean) / safe, 0.0)


def _design(matchups: np.ndarray, features: np.ndarray, n_systems: int) -> np.ndarray:
    """(n x (systems + features)): ln 10 on a's column, -ln 10 on b's, then the features."""
    n = matchups.shape[0]
    x = np.zeros((n, n_systems + features.shape[1]))
    rows = np.arange(n)
    x[rows, matchups[:, 0]] += LN10
    x[rows, matchups[:, 1]] -= LN10
    x[:, n_systems:] = features
    return x


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(expit(z))


def style_loss(theta: np.ndarray, x: np.ndarray, outcomes: np.ndarray) -> float:
    """FastChat's penalised loss at ``theta`` for design ``x`` (used by tests and checks)."""
    z = x @ theta
    log_p = -np.logaddexp(0.0, -z)
    log_q = -np.logaddexp(0.0, z)
    return float(-(outcomes * log_p + (1 - outcomes) * log_q).sum() + STYLE_REG / 2 * theta @ theta)


def _fit_one(x: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    p = x.shape[1]
    theta = np.zeros(p)
    eye = np.eye(p)
    scale = 1.0 + x.shape[0]
    for _ in range(_MAX_ITER):
        prob = _sigmoid(x @ theta)
        grad = x.T @ (prob - outcomes) + STYLE_REG * theta
        if np.abs(grad).max() <= _TOL * scale:
            break
        hessian = (x * (prob * (1 - prob))[:, None]).T @ x + STYLE_REG * eye
        step = np.linalg.solve(hessian, grad)
        theta -= np.clip(step, -2.0, 2.0)  # a full step can overshoot far from the optimum
    return theta


def _bootstrap(
    x: np.ndarray, outcomes: np.ndarray, theta: np.ndarray, unit_of: np.ndarray, draws: Draws
) -> tuple[np.ndarray, float | None]:
    """Each round's optimum (rounds x params), the comparisons weighted by their prompt's draw count.

    Also returns the largest last correction still applied to any round, in units of that
    parameter's bootstrap standard deviation (0 when every round converged to ``_TOL``), or None
    when the size of the problem left no pass to measure it (the one-step bootstrap).
    """
    n, p = x.shape
    rounds, n_units = draws.rounds, draws.n_units
    prob = _sigmoid(x @ theta)
    upper = np.triu_indices(p)
    # Per-prompt sums of each comparison's gradient and (upper-triangle) Hessian at the optimum.
    per = np.empty((n, p + len(upper[0])))
    per[:, :p] = x * (prob - outcomes)[:, None]
    per[:, p:] = x[:, upper[0]] * x[:, upper[1]] * (prob * (1 - prob))[:, None]
    order = np.argsort(unit_of, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(unit_of[order]) != 0])
    per_unit = np.zeros((n_units, per.shape[1]))
    per_unit[unit_of[order][starts]] = np.add.reduceat(per[order], starts, axis=0)
    eye = np.eye(p)
    scale = 1.0 + n
    # Small problems iterate Newton with each round's own Hessian to convergence. Larger ones hold the
    # first step's Hessian and make the passes the work budget allows; the largest make none: their
    # first Newton step is the k-step bootstrap of Andrews (2002, Econometrica 70:119), whose error is
    # O(1/n) against a spread of O(1/sqrt(n)) (measured in tests/analysis/test_style.py).
    newton = rounds * n * p * p <= _HESSIAN_BUDGET
    passes = _MAX_ITER if newton else int(_PASS_BUDGET // (rounds * n * p))
    out = np.empty((rounds, p))
    last_step = np.zeros((rounds, p))
    for start, counts, summed in _summed_draws(per_unit, draws, exact=bool(passes) or draws.exact):
        grad = summed[:, :p] + STYLE_REG * theta
        hessian = np.empty((len(summed), p, p))
        hessian[:, upper[0], upper[1]] = summed[:, p:]
        hessian[:, upper[1], upper[0]] = summed[:, p:]
        hessian += STYLE_REG * eye
        boot = theta - np.linalg.solve(hessian, grad[..., None])[..., 0]
        step = np.zeros_like(boot)
        # Each comparison counts as often as its prompt.
        weights = counts[:, unit_of] if passes and counts is not None else None
        for _ in range(passes):
            assert weights is not None
            prob_r = _sigmoid(boot @ x.T)
            grad = (weights * (prob_r - outcomes)) @ x + STYLE_REG * boot
            if np.abs(grad).max() <= _TOL * scale:
                step[:] = 0.0
                break
            if newton:
                curvature = weights * prob_r * (1 - prob_r)
                hessian = np.matmul(x.T[None] * curvature[:, None, :], x) + STYLE_REG * eye
            step = np.linalg.solve(hessian, grad[..., None])[..., 0]
            boot -= step
        out[start : start + len(boot)] = boot
        last_step[start : start + len(boot)] = step
    if not passes:
        return out, None
    spread = out.std(axis=0)
    safe = np.where(spread > 0, spread, 1.0)
    return out, float(np.abs(last_step / safe).max())


def _summed_draws(
    per_unit: np.ndarray, draws: Draws, *, exact: bool
) -> Iterator[tuple[int, np.ndarray | None, np.ndarray]]:
    """(first round, the rounds' draw counts or None, the rounds' sums of ``per_unit`` weighted by them).

    A round touches the prompts' sums only through their count-weighted total. Exactly: from each
    round's counts. Past the exact budget (``Draws.exact`` false, and only for the one-step
    bootstrap, which needs no per-comparison weights), from that total's normal limit: the counts are
    multinomial(n, 1/n each), so the total has mean sum_u v_u and covariance
    sum_u v_u v_u' - (sum_u v_u)(sum_u v_u)' / n, and with that many prompts (over 50,000 at 1,000
    rounds) it is normal to within O(1/sqrt(n)), well inside the bootstrap's own error.
    """
    if exact:
        for start, chunk in draws.chunks():
            counts = chunk.astype(np.float64)
            yield start, counts, counts @ per_unit
        return
    total = per_unit.sum(axis=0)
    covariance = per_unit.T @ per_unit - np.outer(total, total) / draws.n_units
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    normal = np.random.default_rng(draws.seed).standard_normal((draws.rounds, len(total)))
    yield 0, None, total + normal @ root.T


class Draws:
    """(rounds x units): how often each prompt is drawn when ``n_units`` are resampled with replacement.

    Made a chunk of rounds at a time from one generator, which gives the very numbers of drawing the
    whole (rounds x units) array at once: at 500,000 prompts that array alone would take 4 GB.
    """

    def __init__(self, n_units: int, rounds: int, seed: int):
        self.n_units, self.rounds, self.seed = n_units, rounds, seed
        # _CHUNK rounds at a time, fewer where that many rounds of prompts would pass _DRAWS_BUDGET.
        self.chunk = max(1, min(_CHUNK, _DRAWS_BUDGET // max(1, n_units)))
        # Whether to draw every count (else a one-step bootstrap may use the sums' normal limit).
        self.exact = rounds * n_units <= _EXACT_DRAWS

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        rng = np.random.default_rng(self.seed)
        n = self.n_units
        for start in range(0, self.rounds, self.chunk):
            size = min(self.chunk, self.rounds - start)
            picks = rng.integers(0, n, size=(size, n))
            flat = (picks + n * np.arange(size)[:, None]).ravel()
            yield start, np.bincount(flat, minlength=size * n).reshape(size, n)

    def array(self) -> np.ndarray:
        """All rounds at once (for tests and small problems)."""
        return (
            np.concatenate([chunk for _, chunk in self.chunks()])
            if self.rounds
            else np.zeros((0, self.n_units))
        )


@dataclass(frozen=True)
class StyleFit:
    """A fitted style-controlled Bradley-Terry model and its bootstrap."""

    systems: list[str]
    theta: np.ndarray  # ratings (ln 10 scale, FastChat's r) then the feature coefficients
    boot: np.ndarray  # (rounds x params)
    n: int
    # The largest correction the bootstrap rounds were still making when stopped, in bootstrap
    # standard deviations (0: every round converged).
    bootstrap_residual: float | None = 0.0
    # Whether the bootstrap's sums came from their normal limit (very many prompts; `_summed_draws`).
    normal_limit: bool = False

    def ratings(self) -> np.ndarray:
        return self.theta[: len(self.systems)]

    def coefficients(self) -> np.ndarray:
        return self.theta[len(self.systems) :]

    def rate(self, candidate: str, baseline: str) -> tuple[float, np.ndarray]:
        """P(candidate beats baseline) at equal style, ties as half; and its bootstrap draws."""
        c, b = self.systems.index(candidate), self.systems.index(baseline)
        point = float(_sigmoid(np.array(LN10 * (self.theta[c] - self.theta[b]))))
        return point, _sigmoid(LN10 * (self.boot[:, c] - self.boot[:, b]))


def style_fit(
    *,
    systems: Sequence[str],
    matchups: Sequence[tuple[str, str]],
    outcomes: Sequence[float],
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    units: Sequence[Hashable],
    rounds: int,
    seed: int,
) -> StyleFit:
    """Fit ``outcomes`` (1 when the first of the matchup won, 0.5 tie, 0 lost) with style covariates.

    ``counts_a``/``counts_b`` are (n x 4) ``style_counts`` of the first and second answer; ``units``
    (prompts) are what the bootstrap resamples, ``rounds`` times with ``seed``.
    """
    position = {name: i for i, name in enumerate(systems)}
    pairs = np.array([(position[a], position[b]) for a, b in matchups], dtype=np.intp).reshape(-1, 2)
    unit_ids: dict[Hashable, int] = {}
    unit_of = np.array([unit_ids.setdefault(u, len(unit_ids)) for u in units], dtype=np.intp)
    return style_fit_arrays(
        n_systems=len(systems),
        systems=systems,
        pairs=pairs,
        outcomes=np.asarray(outcomes, dtype=np.float64),
        counts_a=counts_a,
        counts_b=counts_b,
        unit_of=unit_of,
        rounds=rounds,
        seed=seed,
    )


def style_fit_arrays(
    *,
    n_systems: int,
    systems: Sequence[str],
    pairs: np.ndarray,
    outcomes: np.ndarray,
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    unit_of: np.ndarray,
    rounds: int,
    seed: int,
) -> StyleFit:
    """``style_fit`` on arrays: ``pairs`` (n x 2) are positions in ``systems``, ``unit_of`` each
    comparison's prompt numbered 0, 1, 2... in order of first appearance (the bootstrap's order)."""
    y = outcomes
    features = standardise(style_differences(counts_a, counts_b))
    x = _design(pairs, features, n_systems)
    theta = _fit_one(x, y)
    n_units = int(unit_of.max()) + 1 if len(unit_of) else 0
    if rounds and n_units:
        draws = Draws(n_units, rounds, seed)
        boot, residual = _bootstrap(x, y, theta, unit_of, draws)
        normal_limit = residual is None and not draws.exact
    else:
        boot, residual, normal_limit = np.zeros((0, x.shape[1])), None, False
    return StyleFit(
        systems=list(systems),
        theta=theta,
        boot=boot,
        n=len(y),
        bootstrap_residual=residual,
        normal_limit=normal_limit,
    )
