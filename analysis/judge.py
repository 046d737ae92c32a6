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
from typing import Any

from analysis import stats
from analysis.records import RatingRecord
from analysis.stats.ppi import ppi_decisive_rate, ppi_rate

PPI_METHOD = (
    "Prediction-powered inference (Angelopoulos et al., Science 2023) with power tuning (PPI++, "
    "Angelopoulos, Duchi & Zrnic 2023): the judge's verdicts on every comparison, rectified by the human "
    "ratings on the rated ones; 95 % normal interval; lambda in [0, 1] minimises the variance (0: humans "
    "only, 1: plain PPI). effective_n = n x human-only variance / PPI variance. `ppi` is the ties-as-half "
    "rate, `ppi.decisive` the decisive-only rate (a ratio, by the rectified estimating equation and the "
    "delta method). The human-only interval is the normal one on the same comparisons. Refused (ppi: null, "
    "ppi_refused says why) where the rated comparisons are not a uniformly random subset of the judged ones."
)
JUDGE_METHOD = (
    "Judge against humans: the judge's most probable verdict (both orders' probabilities averaged) against "
    "every human rating of a judged comparison, both bad read as tie; percent agreement and Cohen's kappa. "
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
    turn: int = 1  # a conversation's rated turn: turns of one prompt are separate items

    def p_of(self, system: str) -> float:
        return self.p_a if system == self.system_a else self.p_b


@dataclass
class JudgeInput:
    """A campaign's judge run for the report, and why PPI must be refused for it (None: it may be used)."""

    name: str
    verdicts: list[VerdictRecord] = field(default_factory=list)
    ppi_refused: str | None = None


def _key(prompt_id: str, a: str, b: str, turn: int = 1) -> tuple[str, tuple[str, ...]]:
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
    }


def judge_block(
    *, records: Sequence[RatingRecord], judge: JudgeInput, baseline: str, candidate: str
) -> dict[str, Any]:
    """The report's top-level ``judge`` block."""
    verdicts = {_key(v.prompt_id, v.system_a, v.system_b, v.turn): v for v in judge.verdicts}
    pairs: list[tuple[str, str, str, str]] = []  # judge, human, category, setting
    rated: set[tuple[str, tuple[str, ...]]] = set()
    for r in records:
        v = verdicts.get(_key(r.prompt_id, r.system_a, r.system_b, r.turn))
        if v is not None:
            pairs.append((_judge_label(v), _human_label(r), r.category, r.setting))
            rated.add(_key(r.prompt_id, r.system_a, r.system_b, r.turn))
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
    *, records: Sequence[RatingRecord], verdicts: Sequence[VerdictRecord], candidate: str, refused: str | None
) -> dict[str, Any]:
    """``{"ppi": {...}}`` or ``{"ppi": None, "ppi_refused": why}`` for one preference block.

    ``records`` are the block's ratings, ``verdicts`` the judged comparisons of the same pair and group.
    """
    if refused:
        return {"ppi": None, "ppi_refused": refused}
    by_item: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for r in records:
        by_item[_key(r.prompt_id, r.system_a, r.system_b, r.turn)].append(r.outcome_for(candidate))
    judged = {_key(v.prompt_id, v.system_a, v.system_b, v.turn): v for v in verdicts}
    missing = [k for k in by_item if k not in judged]
    if missing:
        return {
            "ppi": None,
            "ppi_refused": f"{len(missing)} rated comparison(s) have no verdict: the judge must cover every comparison",
        }
    y, f, w, d, w_hat, d_hat, labeled = [], [], [], [], [], [], []
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
    rate = ppi_rate(y, f, labeled)
    if rate is None:
        return {"ppi": None, "ppi_refused": "fewer than two rated comparisons"}
    rate["rate"] = "preference_rate_ties_half"
    rate["decisive"] = ppi_decisive_rate(w, d, w_hat, d_hat, labeled)
    return {"ppi": rate}


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
    report["overall"].update(
        ppi_fields(records=ratings, verdicts=verdicts, candidate=candidate, refused=refused)
    )
    for name in ("category", "setting"):
        for group, block in report[f"by_{name}"].items():
            block.update(
                ppi_fields(
                    records=[r for r in ratings if getattr(r, name) == group],
                    verdicts=[v for v in verdicts if getattr(v, name) == group],
                    candidate=candidate,
                    refused=refused,
                )
            )
