"""Build the contract report (a JSON-serialisable dict) from rating records. Pure: no Django."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis import stats
from analysis.columns import RatingColumns, Ratings, as_columns, first_appearance
from analysis.columns import systems_in_order as columns_systems
from analysis.judge import JUDGE_METHOD, PPI_METHOD, JudgeInput, judge_block, ppi_for_blocks
from analysis.quality_flags import METHOD as FLAGS_METHOD
from analysis.settling import Cell, StopDesign, sequential_block
from analysis.stats import sequential as sequential_stats
from analysis.stats.agreement_codes import agreement_codes, rater_summaries_codes
from analysis.stats.preference import preference_block_codes, preference_by_group_codes
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


def _bradley_terry_input(columns: RatingColumns) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Bradley-Terry's (system A, system B, "x" A won | "y" B won | "none") per rating and its prompts."""
    results = ("x", "y", "none", "none")
    names, prompts = columns.systems, columns.prompt_ids
    campaigns = [columns.campaigns[code] for code in columns.prompt_campaign.tolist()]
    pairs = [
        (names[a], names[b], results[choice])
        for a, b, choice in zip(
            columns.system_a.tolist(), columns.system_b.tolist(), columns.choice.tolist(), strict=True
        )
    ]
    return pairs, [(campaigns[p], prompts[p]) for p in columns.prompt.tolist()]


class ReportInputError(ValueError):
    """The records cannot make the report asked for (unknown baseline, no ratings...)."""


def systems_in_order(*, records: Ratings, preferred: Sequence[str] = ()) -> list[str]:
    """``preferred`` first (the campaign's order), then any other system in order of first appearance."""
    seen = list(preferred)
    return seen + [name for name in columns_systems(as_columns(records)) if name not in seen]


def _pair_blocks(
    columns: RatingColumns, baseline: str, candidate: str, rounds: int, seed: int, rank: np.ndarray
) -> dict[str, Any]:
    """The pair's preference blocks; ``rank`` (``RatingColumns.unit_rank``) orders the prompts of every block."""
    pair = columns.pair_mask(baseline, candidate)
    outcomes = columns.outcomes_for(candidate)[pair]
    units = columns.prompt[pair]
    turns = columns.turn[pair]
    turn_names = [str(turn) for turn in range(int(turns.max()) + 1 if len(turns) else 0)]
    kwargs: dict[str, Any] = {"rank": rank, "rounds": rounds, "seed": seed}
    return {
        "overall": preference_block_codes(outcomes, units, **kwargs),
        "by_category": preference_by_group_codes(
            outcomes, columns.category[pair], columns.categories, units, **kwargs
        ),
        "by_setting": preference_by_group_codes(
            outcomes, columns.setting[pair], columns.settings, units, **kwargs
        ),
        # Keys are the turn numbers as strings (JSON's keys); the bootstrap still resamples prompts.
        "by_turn": preference_by_group_codes(outcomes, turns, turn_names, units, **kwargs),
    }


def rater_rows(*, records: Ratings) -> list[dict[str, Any]]:
    """The report's ``raters`` block; the campaign page shows these same rows (reports.campaign_stats)."""
    columns = as_columns(records)
    return rater_summaries_codes(
        columns.items,
        columns.rater,
        columns.labels,
        columns.seconds,
        columns.gold_labels,
        rater_names=columns.raters,
    )


def pair_estimates(*, records: Ratings) -> list[dict[str, Any]]:
    """A preference block per (system A, system B) as compared, the candidate being B; Wilson intervals.

    The live estimate the campaign page shows, counted by the same function as the report's blocks.
    """
    columns = as_columns(records)
    width = max(len(columns.systems), 1)
    pairs, first = first_appearance(columns.system_a * width + columns.system_b)
    chosen = columns.chosen
    # From system B's side: a win when B was chosen, a loss when A was.
    outcomes = np.where(
        chosen >= 0, np.where(chosen == columns.system_b, 0, 1), np.where(columns.choice == 2, 2, 3)
    )
    return [
        {
            "baseline": columns.systems[code // width],
            "candidate": columns.systems[code % width],
            **preference_block_codes(outcomes[pairs == i]),
        }
        for i, code in enumerate(first.tolist())
    ]


def report_build(
    *,
    records: Ratings,
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
    columns = as_columns(records)
    if not len(columns):
        raise ReportInputError("no ratings to report on")
    systems = systems_in_order(records=columns, preferred=system_order)
    if baseline is None:
        baseline = system_order[0] if system_order else columns.systems[columns.system_a[0]]
    if baseline not in systems:
        raise ReportInputError(f"unknown baseline {baseline!r}; systems: {', '.join(systems)}")
    if candidate is None:
        candidate = next(name for name in systems if name != baseline)
    if candidate not in systems or candidate == baseline:
        raise ReportInputError(f"unknown candidate {candidate!r}; systems: {', '.join(systems)}")

    design = design or StopDesign(precision=precision)
    rank = columns.unit_rank()  # one sort of the prompts for every preference block
    report: dict[str, Any] = {"baseline": baseline, "candidate": candidate}
    report.update(_pair_blocks(columns, baseline, candidate, rounds, seed, rank))
    report["agreement"] = agreement_codes(
        columns.items,
        columns.rater,
        columns.labels,
        rater_names=columns.raters,
        label_names=columns.label_names,
    )
    decisive = columns.decisive
    report["position_bias"] = stats.position_bias_counts(
        left=int((columns.left_won & decisive).sum()), decisive=int(decisive.sum())
    )
    report["raters"] = rater_rows(records=columns) if raters is None else [dict(row) for row in raters]
    per_system = np.bincount(columns.system_a, minlength=len(columns.systems)) + np.bincount(
        columns.system_b, minlength=len(columns.systems)
    )
    counts = {name: 0 for name in systems}
    counts.update(zip(columns.systems, per_system.tolist(), strict=True))
    if len(systems) > 2:
        bt = stats.bradley_terry(systems, *_bradley_terry_input(columns), rounds=rounds, seed=seed)
        report["systems"] = bt.pop("scores")
        report["bradley_terry"] = bt
        report["by_pair"] = [
            {
                "baseline": first,
                "candidate": second,
                **_pair_blocks(columns, first, second, rounds, seed, rank)["overall"],
                # The pair's share-weighted figures: what adaptive serving cannot tilt (analysis.settling).
                "sequential": sequential_block(
                    records=columns,
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
        "ratings": len(columns),
        "prompts": len(np.unique(columns.prompt)),
        "raters": len(np.unique(columns.rater)),
        "campaigns": sorted(
            {columns.campaigns[code] for code in np.unique(columns.prompt_campaign[columns.prompt]).tolist()}
        ),
        "system_names": systems,
        "gold_ratings": int(columns.gold.sum()),
        "max_ratings_per_item": int(np.bincount(columns.items).max()),
    }
    report["sequential"] = sequential_block(
        records=columns, baseline=baseline, candidate=candidate, cell_shares=cell_shares, design=design
    )
    present = [name for name in systems if counts[name]]
    style_control_add(report=report, records=columns, systems=present, rounds=rounds, seed=seed)
    report["methods"] = METHODS
    report["excluded_raters"] = [dict(row) for row in excluded_raters]
    if judge is not None:
        # The judge's statistics still read records: rebuilt from the columns when given those.
        records = columns.to_records() if isinstance(records, RatingColumns) else records
        report["judge"] = judge_block(records=records, judge=judge, baseline=baseline, candidate=candidate)
        ppi_for_blocks(report=report, records=records, judge=judge, baseline=baseline, candidate=candidate)
        report["methods"] = {**METHODS, "judge": JUDGE_METHOD, "ppi": PPI_METHOD}
    if quality_flags is not None:
        report["quality_flags"] = [dict(row) for row in quality_flags]
        report["methods"] = {**report["methods"], "quality_flags": FLAGS_METHOD}
    return report
