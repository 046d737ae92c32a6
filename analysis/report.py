"""Build the contract report (a JSON-serialisable dict) from rating records. Pure: no Django."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from analysis import stats
from analysis.judge import JUDGE_METHOD, PPI_METHOD, JudgeInput, judge_block, ppi_for_blocks
from analysis.quality_flags import METHOD as FLAGS_METHOD
from analysis.records import RatingRecord
from analysis.settling import Cell, StopDesign, sequential_block
from analysis.stats import sequential as sequential_stats
from analysis.stats.preference import unit_order
from analysis.style_control import METHOD_TEXT as STYLE_METHOD
from analysis.style_control import style_control_add

METHODS = {
    "preference_rate": "wins / (wins + losses): the candidate's share of decisive votes; ties and both-bad left out.",
    "preference_rate_ties_half": "(wins + ties/2 + both_bad/2) / n: ties and both-bad count as half a win.",
    "ci_wilson": "When every prompt carries one rating: the Wilson (1927) score interval, 95 %, on wins vs losses.",
    "ci_prompt_bootstrap": (
        "When some prompt carries several ratings they are not independent, so the 95 % interval is the "
        "percentile interval of a bootstrap (Efron 1979) that resamples prompts with replacement "
        "(1,000 rounds, fixed seed). Each block names its method in ci_method; wilson_low/high are always given."
    ),
    "p_value": "Two-sided exact binomial test of wins vs losses against 0.5 (the Clopper-Pearson family).",
    "agreement": (
        "Items are (prompt, pair of systems) with at least two ratings; labels name the chosen system (or "
        "tie / both bad), not the side. Percent agreement: mean over items of the share of agreeing rater "
        "pairs. Fleiss (1971) kappa, generalised to unequal numbers of ratings per item with pooled category "
        "shares. Krippendorff's alpha (nominal) from the coincidence matrix. Cohen (1960) kappa for each pair "
        "of raters sharing at least min_shared_items items."
    ),
    "position_bias": "Share of decisive votes won by the response shown on the left; exact binomial test vs 0.5.",
    "raters": (
        "Per rater: number of ratings, median seconds per item, agreement with the most frequent label of the "
        "other raters on shared items (items where the others tie are left out), accuracy on gold items."
    ),
    "bradley_terry": (
        "With more than two systems: Bradley-Terry (1952) log-strengths (mean zero; Elo = 1000 + 400/ln 10 x "
        "score) by penalised maximum likelihood (L2 0.01), ties and both-bad as half a win each way; every "
        "bootstrap round is fitted at once by batched Newton steps; 95 % percentile intervals from the "
        "prompt bootstrap. The win-rate matrix counts decisive votes only."
    ),
    "power": (
        "Decisive votes needed to detect a true preference rate at 80 % power with a two-sided test at 5 %: "
        "exact binomial (first n reaching the power) and the normal approximation; prompts divide by the "
        "observed share of decisive votes."
    ),
    "sequential": f"{sequential_stats.METHOD} {sequential_stats.WEIGHTED_METHOD}",
    "style_control": STYLE_METHOD,
}


class ReportInputError(ValueError):
    """The records cannot make the report asked for (unknown baseline, no ratings...)."""


def systems_in_order(*, records: Sequence[RatingRecord], preferred: Sequence[str] = ()) -> list[str]:
    """``preferred`` first (the campaign's order), then any other system in order of first appearance."""
    seen = [name for name in preferred]
    for record in records:
        for name in (record.system_a, record.system_b):
            if name not in seen:
                seen.append(name)
    return seen


def _item(record: RatingRecord) -> tuple[str, str, tuple[str, ...]]:
    # A conversation's turns are separate items (each rated on its own); turn 1 keeps the old key.
    prompt = record.prompt_id if record.turn == 1 else f"{record.prompt_id}#turn{record.turn}"
    a, b = record.system_a, record.system_b
    return (record.campaign, prompt, (a, b) if a <= b else (b, a))


def _prompt(record: RatingRecord) -> tuple[str, str]:
    return (record.campaign, record.prompt_id)


def _pair_blocks(
    records: Sequence[RatingRecord], baseline: str, candidate: str, rounds: int, seed: int
) -> dict[str, Any]:
    pair = [r for r in records if r.is_pair(baseline, candidate)]
    outcomes = [r.outcome_for(candidate) for r in pair]
    units = [_prompt(r) for r in pair]
    order = unit_order(units)  # one sort of the prompts for every block
    return {
        "overall": stats.preference_block(outcomes, units, rounds=rounds, seed=seed, order=order),
        "by_category": stats.preference_by_group(
            outcomes, [r.category for r in pair], units, rounds=rounds, seed=seed, order=order
        ),
        "by_setting": stats.preference_by_group(
            outcomes, [r.setting for r in pair], units, rounds=rounds, seed=seed, order=order
        ),
        # Keys are the turn numbers as strings (JSON's keys); the bootstrap still resamples prompts.
        "by_turn": stats.preference_by_group(
            outcomes, [str(r.turn) for r in pair], units, rounds=rounds, seed=seed, order=order
        ),
    }


def rater_rows(*, records: Sequence[RatingRecord]) -> list[dict[str, Any]]:
    """The report's ``raters`` block; the campaign page shows these same rows (reports.campaign_stats)."""
    return stats.rater_summaries([(_item(r), r.rater, r.label, r.seconds, r.gold_label) for r in records])


def pair_estimates(*, records: Sequence[RatingRecord]) -> list[dict[str, Any]]:
    """A preference block per (system A, system B) as compared, the candidate being B; Wilson intervals.

    The live estimate the campaign page shows, counted by the same function as the report's blocks.
    """
    outcomes: dict[tuple[str, str], list[str]] = {}
    for r in records:
        outcomes.setdefault((r.system_a, r.system_b), []).append(r.outcome_for(r.system_b))
    return [
        {"baseline": a, "candidate": b, **stats.preference_block(pair)} for (a, b), pair in outcomes.items()
    ]


def report_build(
    *,
    records: Sequence[RatingRecord],
    baseline: str | None = None,
    candidate: str | None = None,
    system_order: Sequence[str] = (),
    rounds: int = stats.DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
    cell_shares: Mapping[Cell, float] | None = None,
    precision: float | None = None,
    design: StopDesign | None = None,
    judge: JudgeInput | None = None,
    excluded_raters: Sequence[Mapping[str, str]] = (),
    quality_flags: Sequence[Mapping[str, Any]] | None = None,
    raters: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The contract report for ``records``.

    ``raters``: ``rater_rows(records=records)`` when the caller has made it already (a campaign's
    quality flags need the same rows), so that a million ratings are not counted twice.

    ``excluded_raters`` (``{"rater", "reason", "excluded_at"}`` each) are the raters a researcher
    excluded, whose ratings ``records`` already leave out; ``quality_flags`` a campaign's flagged raters.

    ``cell_shares`` (a campaign's category x setting shares of its evaluation set) weight the
    ``sequential`` block; ``design`` holds a campaign's stopping rules and plan (``precision`` alone is
    the stop-when-settled width); ``judge`` (a campaign's judge run) adds the ``judge`` block and a
    ``ppi`` object to the preference blocks.

    The baseline is ``baseline``, else the first of ``system_order`` (a campaign's first system), else
    ``system_a`` of the first record; the candidate is ``candidate``, else the next system in order.
    """
    if not records:
        raise ReportInputError("no ratings to report on")
    systems = systems_in_order(records=records, preferred=system_order)
    if baseline is None:
        baseline = system_order[0] if system_order else records[0].system_a
    if baseline not in systems:
        raise ReportInputError(f"unknown baseline {baseline!r}; systems: {', '.join(systems)}")
    if candidate is None:
        candidate = next(name for name in systems if name != baseline)
    if candidate not in systems or candidate == baseline:
        raise ReportInputError(f"unknown candidate {candidate!r}; systems: {', '.join(systems)}")

    design = design or StopDesign(precision=precision)
    report: dict[str, Any] = {"baseline": baseline, "candidate": candidate}
    report.update(_pair_blocks(records, baseline, candidate, rounds, seed))
    items = [_item(r) for r in records]  # once: agreement and the largest item read the same keys
    report["agreement"] = stats.agreement(
        [(item, r.rater, r.label) for item, r in zip(items, records, strict=True)]
    )
    report["position_bias"] = stats.position_bias([r.left_won for r in records if r.left_won is not None])
    report["raters"] = rater_rows(records=records) if raters is None else [dict(row) for row in raters]
    counts = {name: 0 for name in systems}
    for r in records:
        counts[r.system_a] += 1
        counts[r.system_b] += 1
    if len(systems) > 2:
        bt = stats.bradley_terry(
            systems,
            [(r.system_a, r.system_b, r.pair_result) for r in records],
            [_prompt(r) for r in records],
            rounds=rounds,
            seed=seed,
        )
        report["systems"] = bt.pop("scores")
        report["bradley_terry"] = bt
        report["by_pair"] = [
            {
                "baseline": first,
                "candidate": second,
                **_pair_blocks(records, first, second, rounds, seed)["overall"],
                # The pair's share-weighted figures: what adaptive serving cannot tilt (analysis.settling).
                "sequential": sequential_block(
                    records=records,
                    baseline=first,
                    candidate=second,
                    cell_shares=cell_shares,
                    design=design,
                ),
            }
            for i, first in enumerate(systems)
            for second in systems[i + 1 :]
        ]
    else:
        report["systems"] = [{"name": name, "rank": None, "ratings": counts[name]} for name in systems]
    overall = report["overall"]
    share = overall["decisive"] / overall["n"] if overall["n"] else None
    report["power"] = stats.power_table(decisive_share=share, power=design.power, alpha=design.alpha)
    report["summary"] = {
        "ratings": len(records),
        "prompts": len({_prompt(r) for r in records}),
        "raters": len({r.rater for r in records}),
        "campaigns": sorted({r.campaign for r in records}),
        "system_names": systems,
        "gold_ratings": sum(r.is_gold for r in records),
        "max_ratings_per_item": max(Counter(items).values(), default=0),
    }
    report["sequential"] = sequential_block(
        records=records, baseline=baseline, candidate=candidate, cell_shares=cell_shares, design=design
    )
    present = [name for name in systems if counts[name]]
    style_control_add(report=report, records=records, systems=present, rounds=rounds, seed=seed)
    report["methods"] = METHODS
    report["excluded_raters"] = [dict(row) for row in excluded_raters]
    if judge is not None:
        report["judge"] = judge_block(records=records, judge=judge, baseline=baseline, candidate=candidate)
        ppi_for_blocks(report=report, records=records, judge=judge, baseline=baseline, candidate=candidate)
        report["methods"] = {**METHODS, "judge": JUDGE_METHOD, "ppi": PPI_METHOD}
    if quality_flags is not None:
        report["quality_flags"] = [dict(row) for row in quality_flags]
        report["methods"] = {**report["methods"], "quality_flags": FLAGS_METHOD}
    return report
