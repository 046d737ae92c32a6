"""The one selector behind the raters' quality flags; the campaign page and the report both use it.

It feeds the pure rule (``analysis.quality_flags.rater_flags``) with the report's own figures (median
seconds and gold accuracy from ``rater_rows``, so a flag never disagrees with the column beside it),
the uploaded gold checks the roster scores, the too-fast counts and the left share of decisive votes.
Practice answers are stored apart from ratings and never reach these records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.columns import Ratings, as_columns
from analysis.quality_flags import Flag, FlagThresholds, RaterNumbers, rater_flags
from analysis.report import rater_rows
from reports.campaign_records import (
    Campaign,
    RosterEntry,
    campaign_exclusions,
    campaign_flag_thresholds,
    campaign_roster,
    campaign_too_fast_counts,
)


def campaign_rater_flags(
    *,
    campaign: Campaign,
    records: Ratings,
    roster: Sequence[RosterEntry] | None = None,
    rows: Sequence[dict[str, Any]] | None = None,
) -> tuple[FlagThresholds, dict[str, list[Flag]]]:
    """The thresholds and username -> flags for every rater with a rating in ``records``.

    ``records`` are the campaign's records with excluded raters included (each rater's numbers are their
    own, so an excluded rater's flags are what they would be were they included again).
    """
    thresholds = campaign_flag_thresholds(campaign=campaign)
    if roster is None:
        roster = campaign_roster(campaign=campaign)
    uploaded = {entry.username: entry for entry in roster}
    too_fast = campaign_too_fast_counts(campaign=campaign)
    columns = as_columns(records)
    # Each rater's decisive votes and how many of them went to the left answer.
    votes = np.bincount(columns.rater[columns.decisive], minlength=len(columns.raters))
    lefts = np.bincount(columns.rater[columns.decisive & columns.left_won], minlength=len(columns.raters))
    sides = {
        name: [int(votes[code]), int(lefts[code])] for code, name in enumerate(columns.raters) if votes[code]
    }
    # ``rows``: ``rater_rows`` of these records when the caller has them already (a million ratings
    # take seconds to count twice).
    by_rater = {row["rater"]: dict(row) for row in (rater_rows(records=columns) if rows is None else rows)}
    # Uploaded gold pairs compare no systems, so a rater who answered only those has no report row.
    for name, roster_entry in uploaded.items():
        if name not in by_rater and roster_entry.uploaded_gold_total:
            by_rater[name] = {
                "rater": name,
                "count": 0,
                "median_seconds": None,
                "gold_items": 0,
                "gold_accuracy": None,
            }
    flags: dict[str, list[Flag]] = {}
    for name, row in by_rater.items():
        # The report's accuracy is an exact ratio of counts, so rounding recovers the count it came from.
        gold_total = row["gold_items"]
        gold_correct = round(row["gold_accuracy"] * gold_total) if gold_total else 0
        entry = uploaded.get(name)
        if entry is not None:
            gold_total += entry.uploaded_gold_total
            gold_correct += entry.uploaded_gold_correct
        decisive, left = sides.get(name, [0, 0])
        numbers = RaterNumbers(
            ratings=row["count"],
            median_seconds=row["median_seconds"],
            too_fast=too_fast.get(name, 0),
            decisive=decisive,
            left_votes=left,
            gold_total=gold_total,
            gold_correct=gold_correct,
        )
        flags[name] = rater_flags(numbers, thresholds)
    return thresholds, flags


def quality_flags_block(
    *, campaign: Campaign, records: Ratings, rows: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The report's ``quality_flags``: every flagged rater (excluded or not) with each flag's number and rule.

    ``rows``: ``analysis.report.rater_rows`` of ``records``, when already made."""
    _, flags = campaign_rater_flags(campaign=campaign, records=records, rows=rows)
    excluded = {exclusion.rater for exclusion in campaign_exclusions(campaign=campaign)}
    return [
        {
            "rater": name,
            "excluded": name in excluded,
            "flags": [
                {"flag": flag.code, "label": flag.label, "value": flag.value, "rule": flag.rule}
                for flag in rater
            ],
        }
        for name, rater in sorted(flags.items())
        if rater
    ]
