"""The statistics a campaign's page shows, made by the report's own functions from the same records.

A rater's agreement, counts and gold accuracy on the campaign page are the rows of the report's
``raters`` block, and the live preference estimate is counted by ``analysis.stats.preference``: a
number the page shows is the number the report gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analysis.quality_flags import Flag, exclusion_reason
from analysis.report import pair_estimates, rater_rows
from analysis.style_control import pair_style_rates
from reports.campaign_records import Campaign, RosterEntry, campaign_report_records, campaign_roster
from reports.rater_flags import campaign_rater_flags


@dataclass(frozen=True)
class CampaignRater:
    """A rater of the campaign with the report's figures for them (``None`` without a rating)."""

    roster: RosterEntry
    figures: dict[str, Any] | None
    # The rater's quality flags (reports.rater_flags), excluded or not.
    flags: tuple[Flag, ...] = ()

    @property
    def exclusion_reason(self) -> str:
        return exclusion_reason(self.flags)

    @property
    def rater_id(self) -> int:
        return self.roster.rater_id

    @property
    def username(self) -> str:
        return self.roster.username

    @property
    def in_pool(self) -> bool:
        return self.roster.in_pool

    @property
    def excluded(self) -> bool:
        return self.roster.excluded

    @property
    def last_rating(self) -> datetime | None:
        return self.roster.last_rating


def campaign_raters(*, campaign: Campaign) -> list[CampaignRater]:
    """Everyone in the pool or with a rating, each with their row of the report's ``raters`` block.

    An excluded rater has no row in the report; theirs is the row the report would give were they
    included again (the others' ratings as the report has them, plus their own).
    """
    roster = campaign_roster(campaign=campaign)
    kept = campaign_report_records(campaign=campaign)
    rows = {row["rater"]: row for row in rater_rows(records=kept)}
    excluded = {entry.username for entry in roster if entry.excluded}
    everyone = kept
    if excluded:
        everyone = campaign_report_records(campaign=campaign, include_excluded_raters=True)
        for name in excluded:
            theirs = [r for r in everyone if r.rater == name]
            if theirs:
                rows[name] = next(row for row in rater_rows(records=[*kept, *theirs]) if row["rater"] == name)
    _, flags = campaign_rater_flags(campaign=campaign, records=everyone, roster=roster)
    return [
        CampaignRater(
            roster=entry, figures=rows.get(entry.username), flags=tuple(flags.get(entry.username, ()))
        )
        for entry in roster
    ]


# The campaign page's style-controlled rates: fewer bootstrap rounds than a report, for a page that loads fast.
STYLE_SUMMARY_ROUNDS = 200


def campaign_preference_estimate(*, campaign: Campaign) -> list[dict[str, Any]]:
    """Live counts and rate per pair (candidate = system B against system A), with the style-controlled
    rate beside it; gold and excluded raters left out."""
    records = campaign_report_records(campaign=campaign, exclude_gold=True)
    estimates = pair_estimates(records=records)
    pair_style_rates(records=records, estimates=estimates, rounds=STYLE_SUMMARY_ROUNDS)
    return estimates
