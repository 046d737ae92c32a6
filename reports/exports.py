"""Report exports: json, csv, jsonl, html and dpo, from a report source.

The command and the web downloads both go through ``report_export``, and the report page through
the same ``report_of``, so a download, a command-line export and the page of the same filters agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string

from analysis.columns import Ratings
from analysis.records import RatingRecord
from core.plots import plotly_js, plots_js
from reports.presentation import report_context
from reports.ratings_file import ratings_to_text
from reports.sources import ExportError, ReportSource, report_of

FORMATS = ("json", "csv", "jsonl", "html", "dpo")
# The formats that are the report itself, not the ratings: they need no texts, only style counts.
REPORT_FORMATS = ("json", "html")
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "html": "text/html; charset=utf-8",
    "dpo": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
EXTENSIONS = {
    "json": "json",
    "csv": "csv",
    "jsonl": "jsonl",
    "html": "html",
    "dpo": "dpo.jsonl",
    "parquet": "parquet",
}
# What the report page offers: the exports, and the ratings as the hf dataset's Parquet file.
DOWNLOAD_FORMATS = (*FORMATS, "parquet")


def dpo_lines(*, records: Iterable[RatingRecord]) -> list[dict[str, Any]]:
    """``{prompt, chosen, rejected}`` for every decisive vote; ties and both-bad say nothing usable.

    When any rating is of a conversation's later turn, every line is in TRL's conversational format
    (message lists, so one file has one shape): the prompt is the first user message and each side
    is that system's own conversation from there, its earlier answers and the later user turns
    included, since the two systems did not share a history past the first message.
    """
    records = list(records)
    conversational = any(r.earlier or r.turn != 1 for r in records)
    lines: list[dict[str, Any]] = []
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
        if not conversational:
            lines.append({"prompt": record.prompt_text, "chosen": chosen, "rejected": rejected})
            continue
        users = [u for u, _, _ in record.earlier] + [record.prompt_text]
        own = {"a": [a for _, a, _ in record.earlier], "b": [b for _, _, b in record.earlier]}
        winner, loser = ("a", "b") if record.choice == "a" else ("b", "a")
        lines.append(
            {
                "prompt": [{"role": "user", "content": users[0]}],
                "chosen": _continuation(users, [*own[winner], chosen]),
                "rejected": _continuation(users, [*own[loser], rejected]),
            }
        )
    return lines


def _continuation(users: list[str], answers: list[str]) -> list[dict[str, str]]:
    """A system's side of the conversation after the first user message: answer, user, answer..."""
    messages: list[dict[str, str]] = []
    for number, answer in enumerate(answers):
        if number:
            messages.append({"role": "user", "content": users[number]})
        messages.append({"role": "assistant", "content": answer})
    return messages


def report_html(*, report: dict[str, Any], records: Ratings, title: str) -> str:
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
    report = report_of(source=source, baseline=baseline, candidate=candidate)
    if fmt == "json":
        return report_json(report)
    return report_html(report=report, records=source.ratings, title=f"Report: {source.label}")


def report_json(report: dict[str, Any]) -> str:
    """The report as the JSON download and ``report --format json`` write it."""
    return json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
