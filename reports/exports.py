"""Report exports (json, csv, jsonl, html, dpo) and loading records from a ratings file.

The command and the web page both go through ``report_export``, so a download and a command-line
export of the same filters give the same bytes. Records from a campaign come through
``reports.campaign_records``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string

from core.plots import plots_js
from reports.build import report_build
from reports.figures import figure_html, plotly_js, report_figures
from reports.ratings_file import ratings_read_path, ratings_to_text
from reports.records import RatingRecord

FORMATS = ("json", "csv", "jsonl", "html", "dpo")
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "html": "text/html; charset=utf-8",
    "dpo": "application/x-ndjson",
}
EXTENSIONS = {"json": "json", "csv": "csv", "jsonl": "jsonl", "html": "html", "dpo": "dpo.jsonl"}

REFERENCES = (
    "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22(158).",
    "Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case of "
    "the binomial. Biometrika 26(4). (Exact binomial test.)",
    "Efron, B. (1979). Bootstrap methods: another look at the jackknife. Annals of Statistics 7(1).",
    "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76(5).",
    "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological Measurement 20(1).",
    "Krippendorff, K. (2004/2011). Content Analysis: An Introduction to Its Methodology; Computing Krippendorff's "
    "Alpha-Reliability.",
    "Bradley, R. A. & Terry, M. E. (1952). Rank analysis of incomplete block designs: I. The method of paired "
    "comparisons. Biometrika 39(3/4).",
    "Chung, H. W. et al. (2022). Scaling Instruction-Finetuned Language Models. (The usability evaluation.)",
)


class ExportError(ValueError):
    """The export asked for cannot be made from these records."""


@dataclass
class ReportSource:
    """Where the records came from and the filters applied, for titles and file names."""

    records: list[RatingRecord]
    system_order: list[str] = field(default_factory=list)
    label: str = "ratings"
    judge: Any = None  # reports.judge.JudgeInput: the campaign's judge run, if it has one
    # A campaign's (category, setting) shares of its evaluation set and its stop-when-settled width.
    cell_shares: dict[tuple[str, str], float] | None = None
    precision: float | None = None
    # A campaign's excluded raters (who, why, when) and flagged raters, for the report's own blocks.
    excluded_raters: list[dict[str, str]] = field(default_factory=list)
    quality_flags: list[dict[str, Any]] | None = None


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


def dpo_lines(*, records: Iterable[RatingRecord]) -> list[dict[str, str]]:
    """``{prompt, chosen, rejected}`` for every decisive vote; ties and both-bad say nothing usable."""
    lines = []
    for record in records:
        if record.choice not in ("a", "b"):
            continue
        if record.prompt_text is None or record.text_a is None or record.text_b is None:
            raise ExportError(
                "dpo export needs the prompt and both responses (prompt_text, text_a, text_b); "
                f"prompt {record.prompt_id!r} has none: export from --campaign, or add those fields to the ratings file"
            )
        chosen, rejected = (
            (record.text_a, record.text_b) if record.choice == "a" else (record.text_b, record.text_a)
        )
        lines.append({"prompt": record.prompt_text, "chosen": chosen, "rejected": rejected})
    return lines


NO_INTERVAL = "no interval (no decisive votes)"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def preference_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Display rows for the preference table (strings, so templates stay logic-free)."""
    rows = [("Overall", "", report["overall"])]
    rows += [(name, "category", block) for name, block in report["by_category"].items()]
    rows += [(name, "setting", block) for name, block in report["by_setting"].items()]
    return [
        {
            "group": name,
            "kind": kind,
            "n": block["n"],
            "wins": block["wins"],
            "losses": block["losses"],
            "ties": block["ties"],
            "both_bad": block["both_bad"],
            "rate": _pct(block["preference_rate"]),
            "ci": f"{_pct(block['ci_low'])} to {_pct(block['ci_high'])}"
            if block["ci_low"] is not None
            else NO_INTERVAL,
            # A method beside "no interval" would read as if one had been computed.
            "ci_method": block["ci_method"].replace("_", " ") if block["ci_low"] is not None else "",
            "rate_ties_half": _pct(block["preference_rate_ties_half"]),
            "p_value": _p(block["p_value"]),
        }
        for name, kind, block in rows
    ]


def report_context(*, report: dict[str, Any], records: Sequence[RatingRecord], title: str) -> dict[str, Any]:
    """What templates/reports/_report_body.html needs; shared by the web page and the html export."""
    agreement = report["agreement"]
    bias = report["position_bias"]
    return {
        "title": title,
        "report": report,
        "preference_rows": preference_rows(report),
        "pair_rows": [
            {
                **row,
                "rate": _pct(row["preference_rate"]),
                "ci": f"{_pct(row['ci_low'])} to {_pct(row['ci_high'])}",
                "p": _p(row["p_value"]),
            }
            for row in report.get("by_pair", [])
        ],
        "systems_rows": [
            {
                **row,
                "elo_text": _num(row.get("elo"), 0),
                "elo_ci": f"{_num(row.get('elo_ci_low'), 0)} to {_num(row.get('elo_ci_high'), 0)}",
            }
            for row in report["systems"]
        ],
        "bt": report.get("bradley_terry"),
        "agreement_text": {
            "percent": _pct(agreement["percent_agreement"]),
            "fleiss": _num(agreement["fleiss_kappa"], 3),
            "alpha": _num(agreement["krippendorff_alpha"], 3),
        },
        "cohen_rows": [
            {**row, "kappa_text": _num(row["kappa"], 3), "pa": _pct(row["percent_agreement"])}
            for row in agreement["cohen_kappa"]
        ],
        "bias_text": {
            "rate": _pct(bias["left_rate"]),
            "p": _p(bias["p_value"]),
            "ci": f"{_pct(bias['ci_low'])} to {_pct(bias['ci_high'])}",
        },
        "rater_rows": [
            {
                **row,
                "median": _num(row["median_seconds"], 1),
                "majority": _pct(row["agreement_with_majority"]),
                "gold": _pct(row["gold_accuracy"]),
            }
            for row in report["raters"]
        ],
        "power_rows": report["power"]["rows"],
        "figures": [
            (anchor, figure_html(fig))
            for anchor, fig in report_figures(report, seconds=[r.seconds for r in records])
        ],
        "references": REFERENCES,
    }


def report_html(*, report: dict[str, Any], records: Sequence[RatingRecord], title: str) -> str:
    """One self-contained HTML file: plotly's script is inlined so it opens offline."""
    context = report_context(report=report, records=records, title=title)
    context["plotly_js"] = plotly_js()
    context["plots_js"] = plots_js()
    context["generated"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render_to_string("reports/report_export.html", context)


def report_export(
    *,
    source: ReportSource,
    fmt: str,
    baseline: str | None = None,
    candidate: str | None = None,
) -> str:
    """The export of ``source`` in ``fmt`` as text. Raises ``ExportError`` or ``ReportInputError``."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    records = source.records
    if fmt == "csv" or fmt == "jsonl":
        return ratings_to_text(records=records, fmt=fmt)
    if fmt == "dpo":
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in dpo_lines(records=records))
    report = report_build(
        records=records,
        baseline=baseline,
        candidate=candidate,
        system_order=source.system_order,
        cell_shares=source.cell_shares,
        precision=source.precision,
        judge=source.judge,
        excluded_raters=source.excluded_raters,
        quality_flags=source.quality_flags,
    )
    if fmt == "json":
        return json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    return report_html(report=report, records=records, title=f"Report: {source.label}")
