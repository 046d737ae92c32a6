"""Reading a file into records: UTF-8, JSON (one object a line or one array) and CSV, every fault named."""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eval_sets.importers.records import Problems


def decode(data: bytes, problems: Problems, max_bytes: int | None) -> str:
    if max_bytes is not None and len(data) > max_bytes:
        raise problems.fail(
            "", "", f"file is {len(data):,} bytes; the limit is {max_bytes:,} bytes (MAX_UPLOAD_BYTES)"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise problems.fail(
            f"line {line}", "", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if not text.strip():
        raise problems.fail("", "", "the file is empty")
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _loads(text: str) -> Any:
    # NaN/Infinity would be refused later by PostgreSQL's jsonb; duplicate keys silently lose data.
    return json.loads(
        text,
        parse_constant=_reject_constant,
        parse_float=_finite_float,
        object_pairs_hook=_object_without_duplicates,
    )


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        # Some of json's messages already end in "at" ("Unterminated string starting at").
        return f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "not valid JSON (nested too deeply)"
    return f"not valid JSON ({exc})"


@dataclass(frozen=True)
class BadRecord:
    """A record `iter_json_records` could not read, with why; the caller counts and caps them."""

    problem: str


_STRICT = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_object_without_duplicates
)
_SPACE = re.compile(r"[ \t\n\r]*")


def iter_json_records(lines: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    """(location, value) for each record of a JSONL file or JSON array, read as it is consumed.

    The same rules as `read_records` (UTF-8, no NaN, no duplicate keys), but nothing is held
    beyond the record being read: a bad record comes as (location, BadRecord) and the reading goes
    on, so a caller that stops at its cap of problems never reads (or keeps) the rest. `lines` are
    the file's lines as a binary file yields them (split at \n only). A JSON array is parsed one
    element at a time from its text; a syntax error in it ends the reading.
    """
    lines = iter(lines)  # an array's rest is read from where the loop stopped
    started = False
    for number, raw in enumerate(lines, start=1):
        if not started:
            raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            started = True
            if raw.lstrip().startswith(b"["):
                rest = b"".join(lines)  # only an array's text is read whole (it is bounded by the upload)
                yield from _array_records(raw + rest, first_line=number)
                return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield (
                f"line {number}",
                BadRecord(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"),
            )
            continue
        if not text.strip():
            continue
        try:
            yield f"line {number}", _loads(text)
        except (ValueError, RecursionError) as exc:
            yield f"line {number}", BadRecord(_json_error(exc))


def _array_records(data: bytes, *, first_line: int) -> Iterator[tuple[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data[: exc.start].count(b"\n")
        yield (
            f"line {line}",
            BadRecord(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"),
        )
        return
    index = _SPACE.match(text, text.index("[") + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", index):
        return
    for number in range(1, len(text) + 1):
        try:
            value, index = _STRICT.raw_decode(text, index)
        except (ValueError, RecursionError) as exc:
            line = first_line - 1 + exc.lineno if isinstance(exc, json.JSONDecodeError) else 0
            yield (f"line {line}" if line else f"record {number}"), BadRecord(_json_error(exc))
            return
        yield f"record {number}", value
        index = _SPACE.match(text, index).end()  # type: ignore[union-attr]
        if text.startswith(",", index):
            index = _SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
        elif text.startswith("]", index) and not text[index + 1 :].strip():
            return
        else:
            yield f"record {number}", BadRecord("not valid JSON (expected ',' or the closing ']' after it)")
            return


def json_items(text: str, problems: Problems) -> list[tuple[str, Any]]:
    """(location, value) for each record of a JSONL file or a JSON array."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            document = _loads(text)
        except (ValueError, RecursionError) as exc:
            line_number = exc.lineno if isinstance(exc, json.JSONDecodeError) else 0
            raise problems.fail(f"line {line_number}" if line_number else "", "", _json_error(exc)) from None
        if not isinstance(document, list):
            raise problems.fail("", "", "expected a JSON array of objects or one JSON object a line")
        return [(f"record {index}", value) for index, value in enumerate(document, start=1)]
    items: list[tuple[str, Any]] = []
    # Only \n ends a JSONL line: str.splitlines would also split inside strings at U+2028, U+0085...
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append((f"line {number}", _loads(line)))
        except (ValueError, RecursionError) as exc:
            problems.add(f"line {number}", "", _json_error(exc))
    problems.raise_if_any()
    return items


def read_records(*, data: bytes, filename: str, max_bytes: int | None = None) -> list[tuple[str, Any]]:
    """(location, value) for each record of a JSONL file or JSON array, with the importers' checks.

    The one reader for JSON record files (evaluation sets, outputs and verdicts made elsewhere):
    UTF-8, no NaN, no duplicate keys, every fault named with its line; `EvalSetImportError` otherwise.
    """
    problems = Problems(filename)
    items = json_items(decode(data, problems, max_bytes), problems)
    if not items:
        raise problems.fail("", "", "the file holds no records")
    return items


def csv_items(text: str, problems: Problems, filename: str) -> list[tuple[str, Any]]:
    delimiter = "\t" if filename.lower().endswith(".tsv") else ","
    # A prompt can be far longer than csv's default field limit of 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    items: list[tuple[str, Any]] = []
    try:
        header = next(reader)
        header_line = reader.line_num
        names = [name.strip() for name in header]
        if not any(names):
            raise problems.fail(f"line {header_line}", "", "the CSV header row is empty")
        for name in names:
            if names.count(name) > 1:
                raise problems.fail(f"line {header_line}", name, "column appears twice in the header")
        start = reader.line_num + 1
        for row in reader:
            location = f"line {start}"
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                problems.add(location, "", f"row has {len(row)} cells; the header has {len(names)} columns")
                continue
            items.append((location, dict(zip(names, row, strict=True))))
    except csv.Error as exc:
        raise problems.fail(f"line {reader.line_num}", "", f"not valid CSV ({exc})") from None
    problems.raise_if_any()
    return items


def looks_like_csv(filename: str, text: str) -> bool:
    if filename.lower().endswith((".csv", ".tsv")):
        return True
    return not text.lstrip().startswith(("{", "["))
