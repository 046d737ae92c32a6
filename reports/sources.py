"""Where a report's records come from, and the one function that turns them into the report dict.

A ``ReportSource`` is a campaign's records with its context (reports.campaign_report) or a ratings
file's. ``report_of`` is what the report page, every download and the ``report`` command call, so the
page shows exactly what the JSON download holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.columns import RatingColumns, Ratings
from analysis.judge import JudgeInput
from analysis.records import RatingRecord
from analysis.report import report_build
from analysis.settling import StopDesign, stop_reason
from analysis.stats import DEFAULT_BOOTSTRAP_ROUNDS
from reports.ratings_file import ratings_read_path


class ExportError(ValueError):
    """The export asked for cannot be made from these records."""


@dataclass
class ReportSource:
    """The records of a report, where they came from (titles and file names) and what a campaign adds."""

    records: list[RatingRecord]
    system_order: list[str] = field(default_factory=list)
    label: str = "ratings"
    judge: JudgeInput | None = None  # the campaign's judge run, if it has one
    # A campaign's (category, setting) shares of its evaluation set and its stop-when-settled width.
    cell_shares: dict[tuple[str, str], float] | None = None
    precision: float | None = None
    # A campaign's stopping rules and plan, and why it stopped ("" while it runs; None: not a campaign,
    # where ``sequential.stopped`` is what the ratings say).
    design: StopDesign | None = None
    stopped_rule: str | None = None
    # A campaign's excluded raters (who, why, when) and flagged raters, for the report's own blocks.
    excluded_raters: list[dict[str, str]] = field(default_factory=list)
    quality_flags: list[dict[str, Any]] | None = None
    # ``analysis.report.rater_rows`` of ``records`` when made already (for the quality flags).
    rater_rows: list[dict[str, Any]] | None = None
    # The ratings as columns (a campaign's report without texts: ``records`` is then empty).
    columns: RatingColumns | None = None

    @property
    def ratings(self) -> Ratings:
        """What the report is made of: the columns when read as columns, else the records."""
        return self.columns if self.columns is not None else self.records


def report_of(
    *,
    source: ReportSource,
    baseline: str | None = None,
    candidate: str | None = None,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
) -> dict[str, Any]:
    """The contract report of ``source``. Raises ``analysis.report.ReportInputError``."""
    report = report_build(
        records=source.ratings,
        baseline=baseline,
        candidate=candidate,
        system_order=source.system_order,
        rounds=rounds,
        cell_shares=source.cell_shares,
        precision=source.precision,
        design=source.design,
        judge=source.judge,
        excluded_raters=source.excluded_raters,
        quality_flags=source.quality_flags,
        raters=source.rater_rows,
    )
    if source.stopped_rule is not None:
        # A campaign stops once, when its refresh closes it: the record says why, not a recomputation.
        stopped = stop_reason(source.stopped_rule)
        for block in [report["sequential"], *(pair["sequential"] for pair in report.get("by_pair", []))]:
            block["stopped"] = stopped
    return report


def records_filter(
    *, records: Iterable[RatingRecord], exclude_raters: Sequence[str] = (), exclude_gold: bool = False
) -> list[RatingRecord]:
    skip = set(exclude_raters)
    return [r for r in records if r.rater not in skip and not (exclude_gold and r.is_gold)]


def source_from_ratings_file(
    *, path: str | Path, exclude_raters: Sequence[str] = (), exclude_gold: bool = False
) -> ReportSource:
    """Read (and fully validate) a ratings file; raises ``RatingsFileError`` naming line and field."""
    records = ratings_read_path(path=path)
    return ReportSource(
        records=records_filter(records=records, exclude_raters=exclude_raters, exclude_gold=exclude_gold),
        label=Path(path).stem,
    )
