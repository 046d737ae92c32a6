"""The judge in the report: agreement with the humans, and prediction-powered preference rates. Pure.

Unit: the comparison (prompt, pair of systems). The human label of a rated comparison is the mean of
its ratings (win 1, tie and both bad 1/2, loss 0 for the ties-as-half rate; wins and decisive votes
as shares for the decisive-only rate); the judge's prediction is its probability of the same
(p_candidate + p_tie / 2; p_candidate and p_candidate + p_baseline). PPI's labeled set is the rated
comparisons, its unlabeled set the judged comparisons no human rated (analysis.stats.ppi).

Agreement counts a judge's verdict (its most probable label) against each human rating of the
comparison, both bad read as a tie (the judge is not asked about it); the humans' own agreement is
measured the same way on the comparisons with several ratings: the ceiling a judge can be held to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from analysis import stats
from analysis.records import RatingRecord
from analysis.stats.active_ppi import active_decisive_rate, active_rate
from analysis.stats.ppi import ppi_decisive_rate, ppi_rate

PPI_METHOD = (
    "Prediction-powered inference (Angelopoulos et al., Science 2023) with power tuning (PPI++, "
    "Angelopoulos, Duchi & Zrnic 2023): the judge's verdicts on every comparison, rectified by the human "
    "ratings on the rated ones; lambda in [0, 1] minimises the variance (0: humans only, 1: plain PPI). "
    "Robust at every rate: PPI++ alone covered 90 % on a real pair where the candidate wins 97.6 % (100 "
    "human labels hold 2-3 non-wins, often none, and the tuned lambda and the variance collapse together), "
    "so lambda is 1 while the rated comparisons hold fewer than 10 labels' worth on their rarer side, the "
    "rectifier's variance uses ddof 1 and the 95 % interval Student's t on n - 1: 99.4 % on that pair and "
    ">= 94 % at true rates 0.5-0.99 with 50-500 labels in simulation, the gain kept where the judge is good "
    "(cross-fitted lambda changed nothing measurable; a score-type interval covered 79 %). "
    "effective_n = n x human-only variance / PPI variance. `ppi` is the ties-as-half "
    "rate, `ppi.decisive` the decisive-only rate (a ratio, by the rectified estimating equation and the "
    "delta method). The human-only interval is the normal one on the same comparisons. With active labelling "
    "(design: active) humans were sent preferentially where the judge was least sure, each comparison drawn "
    "with a stored probability of at least 0.2 x the uniform share (Zrnic & Candes, ICML 2024); the estimate "
    "weights each rating by its inverse inclusion probability. Comparisons skipped and rated by nobody are "
    "left out of the population (excluded_skipped says how many): the rate is that of the others. "
    "Refused (ppi: null, ppi_refused says why) where the rated comparisons are not a known random subset "
    "of the judged ones."
)
JUDGE_METHOD = (
    "Judge against humans: the judge's most probable verdict (both orders' probabilities averaged) against "
    "every human rating of a judged comparison, both bad read as tie; percent agreement, Cohen's kappa and "
    "Gwet's AC1 (prevalence-robust: kappa collapses when one label dominates; prevalence_note says so). "
    "human_percent_agreement: the same between humans on comparisons with several ratings. "
    "position_consistency: share of comparisons whose verdict is the same with either answer first."
)


@dataclass(frozen=True)
class VerdictRecord:
    prompt_id: str
    category: str
    setting: str
    system_a: str
    system_b: str
    p_a: float
    p_tie: float
    p_b: float
    consistent: bool | None = None
    is_gold: bool = False
    # Active labelling: the stored probability this comparison was drawn for a human, and whether it was.
    label_probability: float | None = None
    label_drawn: bool | None = None
    turn: int = 1  # a conversation's rated turn: turns of one prompt are separate items

    def p_of(self, system: str) -> float:
        return self.p_a if system == self.system_a else self.p_b


@dataclass
class JudgeInput:
    """A campaign's judge run for the report, and why PPI must be refused for it (None: it may be used)."""

    name: str
    verdicts: list[VerdictRecord] = field(default_factory=list)
    ppi_refused: str | None = None
    # Comparisons left out of PPI's population (skipped and rated by nobody): (prompt_id, systems) keys.
    excluded: frozenset[tuple[str, tuple[str, ...]]] = frozenset()
    excluded_reason: str = ""
    chosen: bool = False  # a researcher chose this run for the report (else it is the newest finished one)


def item_key(prompt_id: str, a: str, b: str, turn: int = 1) -> tuple[str, tuple[str, ...]]:
    # Turn 1 keeps the plain prompt id, so single-turn keys are as they always were.
    return (prompt_id if turn == 1 else f"{prompt_id}#turn{turn}", tuple(sorted((a, b))))


def _human_label(record: RatingRecord) -> str:
    """The rater's label with both bad read as a tie: the judge is not asked about both bad."""
    return record.chosen_system or "tie"


def _judge_label(v: VerdictRecord) -> str:
    best = max(v.p_a, v.p_b, v.p_tie)
    if v.p_tie == best:
        return "tie"
    return v.system_a if v.p_a >= v.p_b else v.system_b


def _agreement_figures(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "ratings": len(pairs),
        "percent_agreement": stats.finite_or_none(sum(j == h for j, h in pairs) / len(pairs))
        if pairs
        else None,
        "cohen_kappa": stats.cohen_kappa([j for j, _ in pairs], [h for _, h in pairs]),
        "gwet_ac1": stats.gwet_ac1([j for j, _ in pairs], [h for _, h in pairs]),
        "prevalence_note": stats.prevalence_note([j for j, _ in pairs], [h for _, h in pairs]),
    }


def judge_block(
    *, records: Sequence[RatingRecord], judge: JudgeInput, baseline: str, candidate: str
) -> dict[str, Any]:
    """The report's top-level ``judge`` block."""
    verdicts = {item_key(v.prompt_id, v.system_a, v.system_b, v.turn): v for v in judge.verdicts}
    pairs: list[tuple[str, str, str, str]] = []  # judge, human, category, setting
    rated: set[tuple[str, tuple[str, ...]]] = set()
    for r in records:
        v = verdicts.get(item_key(r.prompt_id, r.system_a, r.system_b, r.turn))
        if v is not None:
            pairs.append((_judge_label(v), _human_label(r), r.category, r.setting))
            rated.add(item_key(r.prompt_id, r.system_a, r.system_b, r.turn))
    human = stats.agreement(
        [((r.prompt_id, tuple(sorted((r.system_a, r.system_b)))), r.rater, _human_label(r)) for r in records]
    )
    consistency = [v.consistent for v in judge.verdicts if v.consistent is not None]
    pair_verdicts = [v for v in judge.verdicts if {v.system_a, v.system_b} == {baseline, candidate}]
    decisive = sum(v.p_of(candidate) + v.p_of(baseline) for v in pair_verdicts)
    by: dict[str, dict[str, list[tuple[str, str]]]] = {
        "category": defaultdict(list),
        "setting": defaultdict(list),
    }
    for j, h, category, setting in pairs:
        by["category"][category].append((j, h))
        by["setting"][setting].append((j, h))
    overall = _agreement_figures([(j, h) for j, h, _, _ in pairs])
    return {
        "name": judge.name,
        "chosen": judge.chosen,
        "items": len(judge.verdicts),
        "rated_items": len(rated),
        **overall,
        "human_percent_agreement": human["percent_agreement"],
        "human_items": human["items"],
        "position_consistency": (
            stats.finite_or_none(sum(consistency) / len(consistency)) if consistency else None
        ),
        "judge_only": {
            "items": len(pair_verdicts),
            "preference_rate": stats.finite_or_none(
                sum(v.p_of(candidate) for v in pair_verdicts) / decisive if decisive > 0 else None
            ),
            "preference_rate_ties_half": stats.finite_or_none(
                sum(v.p_of(candidate) + v.p_tie / 2 for v in pair_verdicts) / len(pair_verdicts)
                if pair_verdicts
                else None
            ),
        },
        "by_category": {g: _agreement_figures(p) for g, p in sorted(by["category"].items())},
        "by_setting": {g: _agreement_figures(p) for g, p in sorted(by["setting"].items())},
    }


_SCORE = {"win": 1.0, "tie": 0.5, "both_bad": 0.5, "loss": 0.0}


def ppi_fields(
    *,
    records: Sequence[RatingRecord],
    verdicts: Sequence[VerdictRecord],
    candidate: str,
    refused: str | None,
    excluded_keys: frozenset[tuple[str, tuple[str, ...]]] = frozenset(),
    excluded_reason: str = "",
) -> dict[str, Any]:
    """``{"ppi": {...}}`` or ``{"ppi": None, "ppi_refused": why}`` for one preference block.

    ``records`` are the block's ratings, ``verdicts`` the judged comparisons of the same pair and group;
    ``excluded_keys`` are left out of the population (a rated one never is), counted in ``excluded_skipped``.
    """
    if refused:
        return {"ppi": None, "ppi_refused": refused}
    by_item: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for r in records:
        by_item[item_key(r.prompt_id, r.system_a, r.system_b, r.turn)].append(r.outcome_for(candidate))
    judged = {item_key(v.prompt_id, v.system_a, v.system_b, v.turn): v for v in verdicts}
    excluded = [k for k in judged if k in excluded_keys and k not in by_item]
    for k in excluded:
        del judged[k]
    missing = [k for k in by_item if k not in judged]
    if missing:
        return {
            "ppi": None,
            "ppi_refused": f"{len(missing)} rated comparison(s) have no verdict: the judge must cover every comparison",
        }
    y, f, w, d, w_hat, d_hat, labeled, drawn_prob, drawn = [], [], [], [], [], [], [], [], []
    for key, v in judged.items():
        outcomes = by_item.get(key, [])
        p_c = v.p_of(candidate)
        p_other = v.p_b if candidate == v.system_a else v.p_a
        f.append(p_c + v.p_tie / 2)
        w_hat.append(p_c)
        d_hat.append(p_c + p_other)
        labeled.append(bool(outcomes))
        count = len(outcomes) or 1
        y.append(sum(_SCORE[o] for o in outcomes) / count)
        w.append(sum(o == "win" for o in outcomes) / count)
        d.append(sum(o in ("win", "loss") for o in outcomes) / count)
        drawn_prob.append(v.label_probability)
        drawn.append(bool(v.label_drawn))
    active = bool(judged) and all(p is not None for p in drawn_prob)
    if active:
        prob = inclusion_probabilities([float(p or 0.0) for p in drawn_prob], drawn, labeled)
        rate = active_rate(y, f, labeled, prob)
    else:
        rate = ppi_rate(y, f, labeled)
    if rate is None:
        return {"ppi": None, "ppi_refused": "fewer than two rated comparisons"}
    rate["rate"] = "preference_rate_ties_half"
    if excluded:
        rate["excluded_skipped"] = len(excluded)
        rate["excluded_reason"] = excluded_reason
    rate["decisive"] = (
        active_decisive_rate(w, d, w_hat, d_hat, labeled, prob)
        if active
        else ppi_decisive_rate(w, d, w_hat, d_hat, labeled)
    )
    return {"ppi": rate}


def inclusion_probabilities(
    drawn_probability: Sequence[float], drawn: Sequence[bool], labeled: Sequence[bool]
) -> list[float]:
    """Each comparison's chance of being rated under active labelling: pi q1 + (1 - pi) q2.

    A comparison is drawn with its stored probability pi; drawn ones are served before the rest, each
    rater in their own random order, so the rated share of the drawn (q1) and of the rest (q2) is a
    random subset of each, whatever they hold. Never 0: pi is bounded away from 0 and q1 > 0 once any
    drawn comparison is rated (else the undrawn carry the design alone).
    """
    n_drawn = sum(drawn)
    n_rest = len(drawn) - n_drawn
    q1 = sum(1 for x, lab in zip(drawn, labeled, strict=True) if x and lab) / n_drawn if n_drawn else 0.0
    q2 = sum(1 for x, lab in zip(drawn, labeled, strict=True) if not x and lab) / n_rest if n_rest else 0.0
    return [max(p * q1 + (1 - p) * q2, 1e-9) for p in drawn_probability]


def ppi_for_blocks(
    *,
    report: dict[str, Any],
    records: Sequence[RatingRecord],
    judge: JudgeInput,
    baseline: str,
    candidate: str,
) -> None:
    """Add ``ppi`` to the report's overall, by_category and by_setting blocks (in place)."""
    pair = {baseline, candidate}
    ratings = [r for r in records if r.pair == pair]
    verdicts = [v for v in judge.verdicts if {v.system_a, v.system_b} == pair and not v.is_gold]
    refused = judge.ppi_refused
    if refused is None and any(r.is_gold for r in ratings):
        refused = (
            "gold checks are among the rated comparisons: they are chosen, not a random sample (exclude gold)"
        )
    block_ppi = partial(
        ppi_fields, candidate=candidate, refused=refused, excluded_keys=judge.excluded,
        excluded_reason=judge.excluded_reason,
    )  # fmt: skip
    report["overall"].update(block_ppi(records=ratings, verdicts=verdicts))
    for name in ("category", "setting"):
        for group, block in report[f"by_{name}"].items():
            block.update(
                block_ppi(
                    records=[r for r in ratings if getattr(r, name) == group],
                    verdicts=[v for v in verdicts if getattr(v, name) == group],
                )
            )
