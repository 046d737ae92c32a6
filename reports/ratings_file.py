"""Read and write ratings files (the contract's JSONL, plus CSV for spreadsheets).

Reading validates the whole file before returning anything: a report is never built from a file that
was only half read. Every error names the line and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from analysis.records import CONTRACT_FIELDS, EXTERNAL_FIELDS, RatingRecord
from core.csv_safe import csv_dict_chunks, csv_write_dicts
from reports.battles import battle_record, is_battle

SIDES = ("a", "b")
CHOICES = ("a", "b", "tie", "both_bad")
STRING_FIELDS = ("campaign", "prompt_id", "category", "setting", "system_a", "system_b", "rater")
OPTIONAL_TEXT_FIELDS = ("comment", "prompt_text", "text_a", "text_b", "gold_choice")
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class FieldError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: field '{self.field}': {self.message}"


class RatingsFileError(ValueError):
    """The file has at least one bad line; ``errors`` lists them all."""

    def __init__(self, errors: Sequence[FieldError]):
        self.errors = list(errors)
        shown = "; ".join(str(error) for error in self.errors[:MAX_ERRORS_SHOWN])
        more = len(self.errors) - MAX_ERRORS_SHOWN
        suffix = f"; and {more} more error(s)" if more > 0 else ""
        super().__init__(f"{len(self.errors)} error(s) in ratings file: {shown}{suffix}")


def _parse_line(number: int, text: str, errors: list[FieldError]) -> RatingRecord | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        errors.append(FieldError(number, "(line)", f"not valid JSON ({exc.msg} at column {exc.colno})"))
        return None
    if not isinstance(data, dict):
        errors.append(FieldError(number, "(line)", "expected a JSON object"))
        return None
    before = len(errors)
    for name in CONTRACT_FIELDS:
        if name not in data or data[name] is None:
            errors.append(FieldError(number, name, "missing"))
    for name in STRING_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            errors.append(FieldError(number, name, f"expected a non-empty string, got {json.dumps(value)}"))
    if isinstance(data.get("system_a"), str) and data.get("system_a") == data.get("system_b"):
        errors.append(FieldError(number, "system_b", "must differ from system_a"))
    if data.get("left") is not None and data.get("left") not in SIDES:
        errors.append(FieldError(number, "left", f"expected 'a' or 'b', got {json.dumps(data.get('left'))}"))
    if data.get("choice") is not None and data.get("choice") not in CHOICES:
        errors.append(
            FieldError(
                number,
                "choice",
                f"expected one of {', '.join(CHOICES)}, got {json.dumps(data.get('choice'))}",
            )
        )
    seconds = data.get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        errors.append(
            FieldError(number, "seconds", f"expected a non-negative number, got {json.dumps(seconds)}")
        )
    created = data.get("created")
    if created is not None:
        try:
            if not isinstance(created, str):
                raise ValueError
            datetime.fromisoformat(created)
        except ValueError:
            errors.append(
                FieldError(number, "created", f"expected an ISO-8601 date-time, got {json.dumps(created)}")
            )
    for name in OPTIONAL_TEXT_FIELDS:
        if name in data and data[name] is not None and not isinstance(data[name], str):
            errors.append(FieldError(number, name, "expected a string"))
    if "gold_choice" in data and data["gold_choice"] not in (None, "", *CHOICES):
        errors.append(FieldError(number, "gold_choice", f"expected one of {', '.join(CHOICES)}"))
    if "is_gold" in data and not isinstance(data["is_gold"], bool):
        errors.append(FieldError(number, "is_gold", "expected true or false"))
    turn = data.get("turn", 1)
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        errors.append(FieldError(number, "turn", f"expected a turn number from 1, got {json.dumps(turn)}"))
    earlier = _earlier(number, data.get("earlier_turns"), errors)
    if len(errors) > before:
        return None
    return RatingRecord(
        campaign=data["campaign"],
        prompt_id=data["prompt_id"],
        category=data["category"],
        setting=data["setting"],
        system_a=data["system_a"],
        system_b=data["system_b"],
        system_on_left=data["left"],
        choice=data["choice"],
        rater=data["rater"],
        seconds=float(data["seconds"]),
        created=str(data["created"]),
        comment=data.get("comment") or "",
        is_gold=bool(data.get("is_gold", False)),
        prompt_text=data.get("prompt_text"),
        text_a=data.get("text_a"),
        text_b=data.get("text_b"),
        gold_choice=data.get("gold_choice") or "",
        turn=turn,
        earlier=earlier,
        **{name: data[name] for name in EXTERNAL_FIELDS if isinstance(data.get(name), str)},
    )


def _earlier(number: int, value: Any, errors: list[FieldError]) -> tuple[tuple[str, str, str], ...]:
    """`earlier_turns`: [{"user", "a", "b"}, ...], the conversation before the rated turn (optional)."""
    if value is None:
        return ()
    rows = value if isinstance(value, list) else None
    if rows is None or not all(
        isinstance(row, dict) and all(isinstance(row.get(k), str) for k in ("user", "a", "b")) for row in rows
    ):
        errors.append(FieldError(number, "earlier_turns", 'expected a list of {"user", "a", "b"} strings'))
        return ()
    return tuple((row["user"], row["a"], row["b"]) for row in rows)


def _battle_line(number: int, text: str, errors: list[FieldError]) -> RatingRecord | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        errors.append(FieldError(number, "(line)", f"not valid JSON ({exc.msg} at column {exc.colno})"))
        return None
    if not isinstance(data, dict):
        errors.append(FieldError(number, "(line)", "expected a JSON object"))
        return None
    return battle_record(number, data, lambda *args: errors.append(FieldError(*args)))


def _first_is_battle(text: str) -> bool:
    try:
        return is_battle(json.loads(text))
    except json.JSONDecodeError:
        return False


def ratings_read(*, stream: IO[str]) -> list[RatingRecord]:
    """All records of a ratings JSONL stream, or :class:`RatingsFileError` listing every bad line.

    The contract's format, or FastChat's battle format (reports.battles) when the first line has its fields.
    """
    records: list[RatingRecord] = []
    errors: list[FieldError] = []
    parse = None
    for number, raw in enumerate(stream, start=1):
        text = raw.strip()
        if not text:
            continue
        if parse is None:
            parse = _battle_line if _first_is_battle(text) else _parse_line
        record = parse(number, text, errors)
        if record is not None:
            records.append(record)
    if not records and not errors:
        errors.append(FieldError(0, "(file)", "no ratings in the file"))
    if errors:
        raise RatingsFileError(errors)
    return records


def ratings_read_path(*, path: str | Path) -> list[RatingRecord]:
    try:
        with open(path, encoding="utf-8") as stream:
            return ratings_read(stream=stream)
    except UnicodeDecodeError as exc:
        raise RatingsFileError([FieldError(0, "(file)", f"not UTF-8 text ({exc.reason})")]) from exc


def record_row(record: RatingRecord) -> dict[str, Any]:
    """The contract fields, then what a reader wants next to them: the sides unblinded, the comment."""
    row = record.contract_dict()
    left_system, right_system = record.side_systems
    chosen = record.chosen_system or ""
    row.update(
        left_system=left_system,
        right_system=right_system,
        chosen_system=chosen,
        chosen_side=("left" if chosen == left_system else "right") if chosen else "",
        comment=record.comment,
        is_gold=record.is_gold,
        gold_choice=record.gold_choice,
        **{name: getattr(record, name) for name in EXTERNAL_FIELDS},
        turn=record.turn,
    )
    return row


def ratings_write_jsonl(*, records: Iterable[RatingRecord], stream: IO[str]) -> None:
    """JSONL that ``ratings_read`` reads back: the contract fields plus comment, gold marks and, when
    known, the prompt and both responses (so a dpo export can be made from the file later)."""
    for record in records:
        stream.write(_jsonl_line(record))


def _jsonl_line(record: RatingRecord) -> str:
    line = record.contract_dict()
    line.update(comment=record.comment, is_gold=record.is_gold)
    if record.gold_choice:
        line["gold_choice"] = record.gold_choice
    for name in EXTERNAL_FIELDS:
        if getattr(record, name):
            line[name] = getattr(record, name)
    for name in ("prompt_text", "text_a", "text_b"):
        if getattr(record, name) is not None:
            line[name] = getattr(record, name)
    if record.turn != 1:
        line["turn"] = record.turn
    if record.earlier:
        line["earlier_turns"] = [{"user": u, "a": a, "b": b} for u, a, b in record.earlier]
    return json.dumps(line, ensure_ascii=False) + "\n"


CSV_FIELDS = (
    *CONTRACT_FIELDS,
    "left_system",
    "right_system",
    "chosen_system",
    "chosen_side",
    "comment",
    "is_gold",
    "gold_choice",
    *EXTERNAL_FIELDS,
    "turn",
)


def ratings_write_csv(*, records: Iterable[RatingRecord], stream: IO[str]) -> None:
    csv_write_dicts(stream=stream, fieldnames=CSV_FIELDS, rows=(record_row(r) for r in records))


def ratings_to_text(*, records: Iterable[RatingRecord], fmt: str) -> str:
    return "".join(ratings_text_chunks(records=records, fmt=fmt))


RATINGS_FORMATS = ("csv", "jsonl")


def ratings_text_chunks(*, records: Iterable[RatingRecord], fmt: str, per_chunk: int = 1000) -> Iterator[str]:
    """The ratings file in ``fmt`` (csv or jsonl), ``per_chunk`` records a piece: what a streamed download
    sends, and joined, what ``ratings_to_text`` returns, byte for byte."""
    if fmt not in RATINGS_FORMATS:
        raise ValueError(f"unknown ratings format: {fmt}")
    if fmt == "csv":
        rows = (record_row(record) for record in records)
        return csv_dict_chunks(fieldnames=CSV_FIELDS, rows=rows, rows_per_chunk=per_chunk)
    return _jsonl_chunks(records, per_chunk)


def _jsonl_chunks(records: Iterable[RatingRecord], per_chunk: int) -> Iterator[str]:
    lines: list[str] = []
    for record in records:
        lines.append(_jsonl_line(record))
        if len(lines) == per_chunk:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)
