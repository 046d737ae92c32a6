"""The statistics a campaign's page shows, made by the report's own functions from the same records.

A rater's agreement, counts and gold accuracy on the campaign page are the rows of the report's
``raters`` block, and the live preference estimate is counted by ``analysis.stats.preference``: a
number the page shows is the number the report gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analysis.columns import RatingColumns
from analysis.quality_flags import Flag, exclusion_reason
from analysis.report import pair_estimates, rater_rows
from analysis.style_control import pair_style_rates
from reports.campaign_records import Campaign, RosterEntry, campaign_roster
from reports.rater_flags import campaign_rater_flags
from reports.rating_columns import campaign_excluded_mask, campaign_report_columns


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


def campaign_raters(*, campaign: Campaign, everyone: RatingColumns | None = None) -> list[CampaignRater]:
    """Everyone in the pool or with a rating, each with their row of the report's ``raters`` block.

    An excluded rater has no row in the report; theirs is the row the report would give were they
    included again (the others' ratings as the report has them, plus their own). ``everyone``:
    ``campaign_everyone(campaign=campaign)`` when the caller has read it already.
    """
    roster = campaign_roster(campaign=campaign)
    if everyone is None:
        everyone = campaign_everyone(campaign=campaign)
    excluded_out = campaign_excluded_mask(campaign=campaign, columns=everyone)
    rows = {row["rater"]: row for row in rater_rows(records=everyone.subset(~excluded_out))}
    for name in sorted({entry.username for entry in roster if entry.excluded}):
        if name not in everyone.raters:
            continue
        theirs = everyone.rater == everyone.raters.index(name)
        if theirs.any():
            # Their row is their own figures against the kept ratings: the order of the others does not matter.
            rows[name] = next(
                row
                for row in rater_rows(records=everyone.subset(~excluded_out | theirs))
                if row["rater"] == name
            )
    _, flags = campaign_rater_flags(campaign=campaign, records=everyone, roster=roster)
    return [
        CampaignRater(
            roster=entry, figures=rows.get(entry.username), flags=tuple(flags.get(entry.username, ()))
        )
        for entry in roster
    ]


def campaign_everyone(*, campaign: Campaign) -> RatingColumns:
    """Every rating a report may count, excluded raters and gold checks included: the page's one read."""
    return campaign_report_columns(campaign=campaign, include_excluded_raters=True)


def campaign_counted_columns(*, campaign: Campaign, everyone: RatingColumns | None = None) -> RatingColumns:
    """The ratings the live figures count (no gold check, no excluded rater), oldest first, from
    ``everyone`` (``campaign_everyone``'s read) when given: the estimates' and the sequential view's."""
    if everyone is None:
        everyone = campaign_everyone(campaign=campaign)
    return everyone.subset(~campaign_excluded_mask(campaign=campaign, columns=everyone, exclude_gold=True))


# The campaign page's style-controlled rates: fewer bootstrap rounds than a report, for a page that loads fast.
STYLE_SUMMARY_ROUNDS = 200


def campaign_preference_estimate(
    *, campaign: Campaign, counted: RatingColumns | None = None
) -> list[dict[str, Any]]:
    """Live counts and rate per pair (candidate = system B against system A), with the style-controlled
    rate beside it; gold and excluded raters left out. ``counted``: ``campaign_counted_columns``' read,
    when the caller has it (the campaign page shares it with the sequential view)."""
    records = campaign_counted_columns(campaign=campaign) if counted is None else counted
    estimates = pair_estimates(records=records)
    pair_style_rates(records=records, estimates=estimates, rounds=STYLE_SUMMARY_ROUNDS)
    return estimates
