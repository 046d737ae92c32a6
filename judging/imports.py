"""Verdicts made elsewhere (AlpacaEval's annotators, an API judge), recorded as a finished judge run.

Formats: ``alpacaeval`` (its ``annotations.json``: `instruction`, `generator_1`, `generator_2`,
`preference`, matched to prompts by instruction text; `preference` 1 means output_1 is better, 2
output_2, a value between is read as the probability p(output_2) = preference - 1, and 0 as a tie)
and ``jsonl`` (`prompt_id`, `system_a`, `system_b`, `p_a`, `p_tie`, `p_b`, the probabilities summing
to 1; the two systems may come in either order). The file is read by the evaluation-set importers'
streaming reader (UTF-8, valid JSON, no NaN, no duplicate keys) one record at a time. All or
nothing: each problem is named with the file's own name (an upload's original name, never a
temporary path) and its line (or record), nothing is stored unless every record matches one
comparison, and the reading stops at the MAX_PROBLEMS-th problem whatever the lines are, so a file
of a million bad lines costs no more than twenty (issue 25, items 7 and 14).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign, Comparison
from core.models import JobStatus
from eval_sets.importers.reading import BadRecord, iter_json_records
from judging.errors import JudgingError
from judging.models import JudgeRun, Verdict
from judging.selectors import campaign_resolve, judgeable_comparisons

FORMATS = ("auto", "alpacaeval", "jsonl")
MAX_PROBLEMS = 20
SUM_TOLERANCE = 1e-3


def _detect(first: Any) -> str:
    if isinstance(first, dict) and "preference" in first and "generator_1" in first:
        return "alpacaeval"
    if isinstance(first, dict) and "p_a" in first:
        return "jsonl"
    raise JudgingError(
        "cannot tell the format: expected AlpacaEval annotations (preference, generator_1, ...) or "
        "JSONL of {prompt_id, system_a, system_b, p_a, p_tie, p_b}; choose the format yourself "
        "(Format beside the file on the judge page, --format on the command line)"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _alpacaeval_probs(record: dict[str, Any]) -> tuple[str, str, float, float, float] | str:
    """(system_1, system_2, p_1, p_tie, p_2) or the problem."""
    for key in ("instruction", "generator_1", "generator_2", "preference"):
        if key not in record:
            return f"missing field {key!r}"
    pref = _number(record["preference"])
    if pref is None:
        return f"preference {record['preference']!r} is not a number"
    if pref == 0:
        return str(record["generator_1"]), str(record["generator_2"]), 0.0, 1.0, 0.0
    if not 1 <= pref <= 2:
        return f"preference {pref} is outside [1, 2] (or 0 for a tie)"
    return str(record["generator_1"]), str(record["generator_2"]), 2 - pref, 0.0, pref - 1


def _jsonl_probs(record: dict[str, Any]) -> tuple[str, str, float, float, float] | str:
    for key in ("prompt_id", "system_a", "system_b", "p_a", "p_tie", "p_b"):
        if key not in record:
            return f"missing field {key!r}"
    probs = [_number(record[k]) for k in ("p_a", "p_tie", "p_b")]
    if any(p is None or p < 0 for p in probs):
        return "p_a, p_tie and p_b must be numbers of at least 0"
    total = sum(p for p in probs if p is not None)
    if abs(total - 1) > SUM_TOLERANCE:
        return f"p_a + p_tie + p_b is {total:.6g}, not 1"
    p_a, p_tie, p_b = (float(p) / total for p in probs if p is not None)
    return str(record["system_a"]), str(record["system_b"]), p_a, p_tie, p_b


def judgments_import(
    *,
    campaign: Campaign | str,
    path: Path | str | None = None,
    stream: IO[bytes] | None = None,
    filename: str | None = None,
    fmt: str = "auto",
    name: str | None = None,
) -> JudgeRun:
    """Store the file's verdicts as a finished run of the campaign; JudgingError naming the problems.

    The file is `path`, or `stream` (an upload) called `filename` in messages.
    """
    if fmt not in FORMATS:
        raise JudgingError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    target = campaign_resolve(campaign=campaign)
    if stream is not None:
        return _import(target, stream, filename or "upload", fmt, name)
    if path is None:
        raise JudgingError("give a file of verdicts")
    path = Path(path)
    try:
        with path.open("rb") as file:
            return _import(target, file, filename or path.name, fmt, name)
    except OSError as exc:
        raise JudgingError(f"cannot read {path}: {exc.strerror}") from None


def _import(target: Campaign, lines: Iterable[bytes], filename: str, fmt: str, name: str | None) -> JudgeRun:
    records: Iterator[tuple[str, Any]] = iter_json_records(lines)
    first = next(records, None)
    if first is None:
        raise JudgingError(f"{filename}: no verdicts in the file")
    if fmt == "auto" and isinstance(first[1], BadRecord):
        raise JudgingError(f"{filename}, {first[0]}: {first[1].problem}")
    if fmt == "auto":
        try:
            fmt = _detect(first[1])
        except JudgingError as exc:
            raise JudgingError(f"{filename}: {exc}") from None
    comparisons: dict[tuple[str, frozenset[str], int], Comparison] = {}
    by_text: dict[str, str] = {}
    for c in judgeable_comparisons(campaign=target):
        assert c.system_a is not None and c.system_b is not None
        comparisons[(c.prompt.uid, frozenset((c.system_a.name, c.system_b.name)), c.turn)] = c
        by_text.setdefault(c.prompt.text.strip(), c.prompt.uid)
    if not comparisons:
        raise JudgingError(f"campaign {target.name!r} has no comparisons (build it first)")
    systems = set(target.system_names())
    problems: list[str] = []
    rows: dict[int, Verdict] = {}
    for location, record in itertools.chain([first], records):
        problem = _record_add(record, fmt, comparisons, by_text, systems, rows)
        if problem is not None:
            problems.append(f"{filename}, {location}: {problem}")
            if len(problems) >= MAX_PROBLEMS:  # whatever the rest holds: it is not read
                break
    if problems:
        more = f" (stopped at the first {MAX_PROBLEMS})" if len(problems) >= MAX_PROBLEMS else ""
        raise JudgingError(f"{len(problems)} problem(s){more}, nothing imported:\n" + "\n".join(problems))
    annotator = first[1].get("annotator") if isinstance(first[1], dict) else None
    judge_name = (name or "").strip() or str(annotator or Path(filename).stem)
    return _run_store(target, fmt, judge_name, rows)


def _record_add(
    record: Any,
    fmt: str,
    comparisons: dict[tuple[str, frozenset[str], int], Comparison],
    by_text: dict[str, str],
    systems: set[str],
    rows: dict[int, Verdict],
) -> str | None:
    """Add the record's verdict to `rows`; the problem with it instead, if it has one."""
    if isinstance(record, BadRecord):
        return record.problem
    if not isinstance(record, dict):
        return "not a JSON object"
    parsed = _alpacaeval_probs(record) if fmt == "alpacaeval" else _jsonl_probs(record)
    if isinstance(parsed, str):
        return parsed
    first, second, p_first, p_tie, p_second = parsed
    if fmt == "alpacaeval":
        uid = by_text.get(str(record["instruction"]).strip())
        if uid is None:
            return "no prompt of the campaign has this instruction"
    else:
        uid = str(record["prompt_id"])
    unknown = [s for s in (first, second) if s not in systems]
    if unknown:
        return f"system {unknown[0]!r} is not in the campaign (systems: {', '.join(sorted(systems))})"
    # A conversation's verdicts name the rated turn (optional; 1, the first turn, by default).
    turn = record.get("turn", 1) if fmt == "jsonl" else 1
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        return f"turn {turn!r} is not a turn number (1, 2, ...)"
    where = repr(uid) if turn == 1 else f"{uid!r} turn {turn}"
    comparison = comparisons.get((uid, frozenset((first, second)), turn))
    if comparison is None:
        return f"the campaign has no comparison of {first} and {second} on {where}"
    if comparison.pk in rows:
        return f"a second verdict for {first} vs {second} on {where}"
    assert comparison.system_a is not None
    flip = comparison.system_a.name != first
    p_a, p_b = (p_second, p_first) if flip else (p_first, p_second)
    rows[comparison.pk] = Verdict(comparison=comparison, p_a=p_a, p_tie=p_tie, p_b=p_b)
    return None


def _run_store(target: Campaign, fmt: str, judge_name: str, rows: dict[int, Verdict]) -> JudgeRun:
    now = timezone.now()
    with transaction.atomic():
        run = JudgeRun.objects.create(
            campaign=target,
            name=judge_name[:200],
            source=JudgeRun.Source.IMPORT,
            prompt_version=fmt,
            status=JobStatus.DONE,
            items_total=len(rows),
            items_done=len(rows),
            started=now,
            finished=now,
        )
        for verdict in rows.values():
            verdict.run = run
        Verdict.objects.bulk_create(rows.values(), batch_size=500)
    return run
