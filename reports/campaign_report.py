"""A campaign as a report source: the records filtered in SQL, with everything the report adds for a
campaign (its system order, cell shares, stop-when-settled precision, judge run, excluded and flagged
raters). The report page, its downloads and the ``report`` command all start here, then call
``reports.sources.report_of``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from analysis.columns import RatingColumns, Ratings
from analysis.records import RatingRecord
from analysis.report import rater_rows, report_build
from reports.campaign_records import (
    Campaign,
    campaign_by_name,
    campaign_cell_shares,
    campaign_exclusions,
    campaign_judge_input,
    campaign_rating_record_stream,
    campaign_rating_records,
    campaign_stop_design,
)
from reports.hf_dataset import hf_parquet_chunks
from reports.rater_flags import quality_flags_block
from reports.rating_columns import campaign_excluded_mask, campaign_report_columns
from reports.ratings_file import ratings_text_chunks
from reports.sources import ExportError, ReportSource

# The campaign page's judge summary: fewer bootstrap rounds than a report, for a page that loads fast.
SUMMARY_ROUNDS = 200


def campaign_report_source(
    *, campaign: Campaign, exclude_raters: Sequence[str] = (), exclude_gold: bool = False, texts: bool = True
) -> ReportSource:
    """The campaign's records (``exclude_raters`` and gold left out in SQL) with the campaign's context.

    ``texts=False`` leaves the prompts' and answers' texts out of the records (they carry the answers'
    stored style counts instead): enough for the report and its page, not for the exports of ratings.
    """
    exclude_raters = tuple(name for name in exclude_raters if name)
    excluded = [
        {"rater": e.rater, "reason": e.reason, "excluded_at": e.excluded_at.isoformat()}
        for e in campaign_exclusions(campaign=campaign)
    ]
    filtered = bool(excluded or exclude_raters or exclude_gold)
    records: list[RatingRecord] = []
    columns: RatingColumns | None = None
    if texts:
        records = campaign_rating_records(
            campaign=campaign, exclude_raters=exclude_raters, exclude_gold=exclude_gold
        )
        # The flags are every rater's own numbers, gold included, whatever this report leaves out.
        everyone: Ratings = (
            campaign_rating_records(campaign=campaign, include_excluded_raters=True) if filtered else records
        )
    else:
        # Read once, every rater and check included (the flags' numbers), and filtered here.
        everyone = campaign_report_columns(campaign=campaign, include_excluded_raters=filtered)
        columns = everyone
        if filtered:
            left_out = campaign_excluded_mask(
                campaign=campaign, columns=everyone, exclude_raters=exclude_raters, exclude_gold=exclude_gold
            )
            columns = everyone.subset(~left_out)
    kept: Ratings = columns if columns is not None else records
    # The same ratings: the report's raters block is the rows the flags are made from.
    rows = None if filtered else rater_rows(records=kept)
    return ReportSource(
        records=records,
        columns=columns,
        system_order=list(campaign.system_names()),
        label=campaign.name,
        cell_shares=campaign_cell_shares(campaign=campaign),
        precision=campaign.precision,
        design=campaign_stop_design(campaign=campaign),
        stopped_rule=campaign.settled_rule,
        judge=campaign_judge_input(campaign=campaign, exclude_raters=exclude_raters),
        excluded_raters=excluded,
        quality_flags=quality_flags_block(campaign=campaign, records=everyone, rows=rows),
        rater_rows=rows,
    )


# The downloads that stream: the ratings, read and written a chunk at a time (constant memory).
STREAMED_FORMATS = ("csv", "jsonl", "parquet")


def campaign_ratings_chunks(
    *, campaign: Campaign, fmt: str, exclude_raters: Sequence[str] = (), exclude_gold: bool = False
) -> Iterator[str] | Iterator[bytes]:
    """The campaign's ratings file in ``fmt`` (csv, jsonl: text; parquet: the hf dataset's file, bytes), a
    piece at a time. csv and jsonl are the bytes ``report_export`` gives for the same filters."""
    if fmt not in STREAMED_FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(STREAMED_FORMATS)}")
    records = campaign_rating_record_stream(
        campaign=campaign, exclude_raters=exclude_raters, exclude_gold=exclude_gold
    )
    if fmt == "parquet":
        return hf_parquet_chunks(records=records)
    return ratings_text_chunks(records=records, fmt=fmt)


def source_from_campaign(
    *, name: str, exclude_raters: Sequence[str] = (), exclude_gold: bool = False, texts: bool = True
) -> ReportSource:
    """The report source of the campaign called ``name``; ``ExportError`` if there is none."""
    campaign = campaign_by_name(name)
    if campaign is None:
        raise ExportError(f"no campaign named {name!r}")
    return campaign_report_source(
        campaign=campaign, exclude_raters=exclude_raters, exclude_gold=exclude_gold, texts=texts
    )


def campaign_judge_summary(*, campaign: Campaign) -> dict[str, Any] | None:
    """What the campaign page shows: the report's own judge block and overall PPI, or None without a run."""
    judge = campaign_judge_input(campaign=campaign)
    if judge is None:
        return None
    records = campaign_report_columns(campaign=campaign, exclude_gold=True)
    systems = campaign.system_names()
    if not len(records) or len(systems) < 2:
        return {"judge": {"name": judge.name, "items": len(judge.verdicts)}, "overall": None}
    report = report_build(records=records, system_order=systems, judge=judge, rounds=SUMMARY_ROUNDS)
    return {
        "judge": report["judge"],
        "overall": report["overall"],
        "baseline": report["baseline"],
        "candidate": report["candidate"],
    }
