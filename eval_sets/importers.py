"""Parsers that turn evaluation-set files into plain prompt records.

One parser per format, plus detection. Nothing here touches the database: a parser either returns
every record of the file or raises `EvalSetImportError`, whose problems each name the file, the line
(or record) and the field, so that a caller can refuse the whole file before storing anything.

Formats (the `--format` names):

- ``usability``: the contract JSONL (`id`, `category`, `setting`, `prompt`, `variant_of`, `stop`);
  unknown fields become metadata.
- ``vicuna``: `question_id`, `category`, and `text` or a one-element `turns`.
- ``mtbench``: `question_id`, `category`, `turns`; the first turn is the prompt and the later turns
  are kept in metadata under `later_turns`.
- ``koala``: `id`, `prompt` (category `general`).
- ``selfinstruct``: `id`, `motivation_app` (the category), `instruction`, `instances`; the prompt is
  the instruction followed by the instance input. A record with several instances gives one prompt
  per instance (`ID#1`, `ID#2`, ...).
- ``alpacaeval``: a JSON list (or JSONL) of `instruction`, `output`, `generator`, `dataset`; the
  instruction is the prompt, `dataset` the category, ids are `alpacaeval_0`, `alpacaeval_1`, ...
- ``jsonl`` / ``csv``: generic files read through a column mapping (`id_field`, `prompt_field`,
  `category_field`; defaults `id`, `prompt`, `category`); other columns become metadata.

Every JSON format also accepts a single JSON array of objects instead of one object a line.
Files must be UTF-8 (a byte-order mark is allowed) and at most `max_bytes` long.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("usability", "vicuna", "mtbench", "koala", "selfinstruct", "alpacaeval", "jsonl", "csv")
SETTINGS = ("zero_shot", "zero_shot_cot", "few_shot")
# The contract's own keys; metadata may not reuse them or an export could not be read back.
CONTRACT_KEYS = ("id", "category", "setting", "prompt", "variant_of", "stop")
DEFAULT_CATEGORY = "general"
# Column widths of the Prompt model: longer values would fail at insert time on PostgreSQL.
MAX_UID_CHARS = 200
MAX_CATEGORY_CHARS = 100
# Enough to show the shape of a broken file without flooding a page or a terminal.
MAX_PROBLEMS = 25
# Deeper metadata is refused rather than risking the recursion limit in encoders and databases.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    file: str
    location: str  # "line 3", "record 3" or "" for the whole file
    field: str  # "" when no single field is at fault
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.location:
            where += f", {self.location}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class EvalSetImportError(ValueError):
    """A file that cannot be imported; `problems` lists every fault found (up to a cap)."""

    def __init__(self, problems: list[Problem], *, truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        super().__init__(self.summary())

    def summary(self) -> str:
        first = str(self.problems[0]).replace("\n", " ") if self.problems else "cannot import"
        more = len(self.problems) - 1
        if more > 0 or self.truncated:
            first += f" (and {more}{'+' if self.truncated else ''} more problem{'s' if more != 1 else ''})"
        return first


@dataclass(frozen=True)
class PromptRecord:
    """One prompt in the contract's terms; `metadata` never uses a contract key."""

    uid: str
    category: str
    setting: str
    text: str
    variant_of: str | None = None
    stop: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_contract(self) -> dict[str, Any]:
        """The line the contract file holds for this prompt (metadata flattened after the fixed keys)."""
        line: dict[str, Any] = {
            "id": self.uid,
            "category": self.category,
            "setting": self.setting,
            "prompt": self.text,
            "variant_of": self.variant_of,
            "stop": list(self.stop),
        }
        line.update(self.metadata)
        return line


@dataclass(frozen=True)
class ParseResult:
    format: str
    records: list[PromptRecord]
    notes: list[str] = field(default_factory=list)


class _Problems:
    """Collects problems for one file; parsers keep going to report several at once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.truncated = False

    def add(self, location: str, field_name: str, message: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.items.append(Problem(self.file, location, field_name, message))

    def fail(self, location: str, field_name: str, message: str) -> EvalSetImportError:
        self.add(location, field_name, message)
        return self.error()

    def error(self) -> EvalSetImportError:
        return EvalSetImportError(list(self.items), truncated=self.truncated)

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()


class _RecordError(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


# --- reading the file --------------------------------------------------------------------------------


def _decode(data: bytes, problems: _Problems, max_bytes: int | None) -> str:
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
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "not valid JSON (nested too deeply)"
    return f"not valid JSON ({exc})"


def _json_items(text: str, problems: _Problems) -> list[tuple[str, Any]]:
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


def _csv_items(text: str, problems: _Problems, filename: str) -> list[tuple[str, Any]]:
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


# --- field checks ------------------------------------------------------------------------------------


def _walk_strings(value: Any) -> Iterator[str]:
    # Iterative so that a deeply nested metadata value cannot exhaust the stack.
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _RecordError("", f"a value is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_storable(record: dict[str, Any]) -> None:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL text, UTF-8 encoding)."""
    for key, value in record.items():
        try:
            for text in _walk_strings([key, value]):
                if "\x00" in text:
                    raise _RecordError(key, "contains a NUL character")
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise _RecordError(key, "contains an unpaired surrogate (invalid Unicode)") from None
        except _RecordError as exc:
            raise _RecordError(exc.field_name or key, exc.message) from None


def _normalise_numbers(value: Any) -> Any:
    """Integral floats become ints, as PostgreSQL's jsonb gives them back (1e16 is read as an int).

    Without this a set imported on PostgreSQL would export a file with a different content hash.
    """
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_normalise_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalise_numbers(item) for key, item in value.items()}
    return value


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _require(record: dict[str, Any], key: str) -> Any:
    if key not in record:
        present = ", ".join(sorted(record)) or "none"
        raise _RecordError(key, f"missing (fields present: {present})")
    return record[key]


def _text(record: dict[str, Any], key: str) -> str:
    value = _require(record, key)
    if not isinstance(value, str):
        raise _RecordError(key, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        raise _RecordError(key, "is empty")
    return value


def _identifier(record: dict[str, Any], key: str) -> str:
    value = _require(record, key)
    # JSON ids are strings or integers (Vicuna and MT-Bench number their questions).
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _RecordError(key, f"expected a string or an integer, got {_type_name(value)}")
    uid = str(value).strip()
    if not uid:
        raise _RecordError(key, "is empty")
    if len(uid) > MAX_UID_CHARS:
        raise _RecordError(key, f"is {len(uid)} characters long; ids are at most {MAX_UID_CHARS}")
    return uid


def _category(record: dict[str, Any], key: str, *, required: bool = True) -> str:
    if not required and key not in record:
        return DEFAULT_CATEGORY
    value = _text(record, key).strip()
    if len(value) > MAX_CATEGORY_CHARS:
        raise _RecordError(
            key, f"is {len(value)} characters long; categories are at most {MAX_CATEGORY_CHARS}"
        )
    return value


def _metadata(
    record: dict[str, Any], used: Iterable[str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every field the parser did not consume; names that clash with contract keys get a `source_` prefix."""
    used_set = set(used)
    metadata: dict[str, Any] = {key: _normalise_numbers(value) for key, value in (extra or {}).items()}
    for key, value in record.items():
        if key in used_set:
            continue
        name = key
        while name in CONTRACT_KEYS or name in metadata:
            name = f"source_{name}"
        metadata[name] = _normalise_numbers(value)
    return metadata


# --- one parser per format ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    id_field: str
    prompt_field: str
    category_field: str


Parser = Callable[[dict[str, Any], int, _Options], list[PromptRecord]]


def _parse_usability(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    uid = _identifier(record, "id")
    category = _category(record, "category")
    setting = _require(record, "setting")
    if setting not in SETTINGS:
        raise _RecordError("setting", f"is {setting!r}; expected one of {', '.join(SETTINGS)}")
    text = _text(record, "prompt")
    variant_of = record.get("variant_of")
    if variant_of is not None:
        if not isinstance(variant_of, str | int) or isinstance(variant_of, bool):
            raise _RecordError("variant_of", f"expected a string or null, got {_type_name(variant_of)}")
        variant_of = str(variant_of).strip() or None
    stop = record.get("stop", [])
    if stop is None:
        stop = []
    if not isinstance(stop, list):
        raise _RecordError("stop", f"expected a list of strings, got {_type_name(stop)}")
    for item in stop:
        if not isinstance(item, str):
            raise _RecordError("stop", f"expected a list of strings, found {_type_name(item)}")
        if not item:
            raise _RecordError("stop", "contains an empty string")
    return [
        PromptRecord(
            uid=uid,
            category=category,
            setting=setting,
            text=text,
            variant_of=variant_of,
            stop=tuple(stop),
            metadata=_metadata(record, CONTRACT_KEYS),
        )
    ]


def _turns(record: dict[str, Any]) -> list[str]:
    turns = _require(record, "turns")
    if not isinstance(turns, list):
        raise _RecordError("turns", f"expected a list of strings, got {_type_name(turns)}")
    if not turns:
        raise _RecordError("turns", "is an empty list")
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, str):
            raise _RecordError("turns", f"turn {number} is {_type_name(turn)}, not a string")
        if not turn.strip():
            raise _RecordError("turns", f"turn {number} is empty")
    return turns


def _parse_vicuna(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    uid = _identifier(record, "question_id")
    category = _category(record, "category")
    if "text" in record:
        text = _text(record, "text")
        used = ("question_id", "category", "text")
    else:
        turns = _turns(record)
        if len(turns) != 1:
            raise _RecordError(
                "turns", f"has {len(turns)} turns; Vicuna questions have one (multi-turn files are mtbench)"
            )
        text = turns[0]
        used = ("question_id", "category", "turns")
    return [
        PromptRecord(
            uid=uid, category=category, setting="zero_shot", text=text, metadata=_metadata(record, used)
        )
    ]


def _parse_mtbench(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    uid = _identifier(record, "question_id")
    category = _category(record, "category")
    turns = _turns(record)
    extra = {"later_turns": turns[1:]} if len(turns) > 1 else {}
    metadata = _metadata(record, ("question_id", "category", "turns"), extra)
    return [PromptRecord(uid=uid, category=category, setting="zero_shot", text=turns[0], metadata=metadata)]


def _parse_koala(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    uid = _identifier(record, "id")
    text = _text(record, "prompt")
    return [
        PromptRecord(
            uid=uid,
            category=DEFAULT_CATEGORY,
            setting="zero_shot",
            text=text,
            metadata=_metadata(record, ("id", "prompt")),
        )
    ]


def _parse_selfinstruct(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    uid = _identifier(record, "id")
    category = _category(record, "motivation_app")
    instruction = _text(record, "instruction")
    instances = _require(record, "instances")
    if not isinstance(instances, list):
        raise _RecordError("instances", f"expected a list of objects, got {_type_name(instances)}")
    shaped: list[tuple[str, Any]] = []
    for number, instance in enumerate(instances, start=1):
        if not isinstance(instance, dict):
            raise _RecordError("instances", f"instance {number} is {_type_name(instance)}, not an object")
        given = instance.get("input", "")
        if not isinstance(given, str):
            raise _RecordError("instances", f"instance {number} has an input that is {_type_name(given)}")
        shaped.append((given, instance.get("output")))
    if not shaped:
        shaped.append(("", None))
    used = ("id", "motivation_app", "instruction", "instances")
    records = []
    for number, (given, output) in enumerate(shaped, start=1):
        text = f"{instruction.rstrip()}\n\n{given.strip()}" if given.strip() else instruction
        extra: dict[str, Any] = {"instruction": instruction, "instance_input": given}
        if output is not None:
            extra["reference_output"] = output
        metadata = _metadata(record, used, extra)
        records.append(
            PromptRecord(
                uid=uid if len(shaped) == 1 else f"{uid}#{number}",
                category=category,
                setting="zero_shot",
                text=text,
                metadata=metadata,
            )
        )
    if len(records) > 1 and len(records[-1].uid) > MAX_UID_CHARS:
        raise _RecordError("id", f"is too long to number its {len(records)} instances")
    return records


def _parse_alpacaeval(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    text = _text(record, "instruction")
    category = _category(record, "dataset", required=False)
    return [
        PromptRecord(
            uid=f"alpacaeval_{index}",
            category=category,
            setting="zero_shot",
            text=text,
            metadata=_metadata(record, ("instruction", "dataset")),
        )
    ]


def _parse_mapped(record: dict[str, Any], index: int, options: _Options) -> list[PromptRecord]:
    uid = _identifier(record, options.id_field)
    text = _text(record, options.prompt_field)
    category = _category(record, options.category_field, required=False)
    used = (options.id_field, options.prompt_field, options.category_field)
    return [
        PromptRecord(
            uid=uid, category=category, setting="zero_shot", text=text, metadata=_metadata(record, used)
        )
    ]


PARSERS: dict[str, Parser] = {
    "usability": _parse_usability,
    "vicuna": _parse_vicuna,
    "mtbench": _parse_mtbench,
    "koala": _parse_koala,
    "selfinstruct": _parse_selfinstruct,
    "alpacaeval": _parse_alpacaeval,
    "jsonl": _parse_mapped,
    "csv": _parse_mapped,
}


# --- detection and the entry point -------------------------------------------------------------------


def detect_format(items: list[tuple[str, Any]]) -> str | None:
    """The JSON format whose fields the first object carries, or None when none fits."""
    first = next((value for _, value in items if isinstance(value, dict)), None)
    if first is None:
        return None
    keys = set(first)
    # The contract format first: an exported set keeps its source's fields as metadata.
    if {"id", "prompt"} <= keys and keys & {"setting", "variant_of", "stop"}:
        return "usability"
    if {"instruction", "instances"} <= keys:
        return "selfinstruct"
    if "instruction" in keys:
        return "alpacaeval"
    if "question_id" in keys:
        multi_turn = any(
            isinstance(value, dict) and isinstance(value.get("turns"), list) and len(value["turns"]) > 1
            for _, value in items
        )
        return "mtbench" if multi_turn else "vicuna"
    if {"id", "prompt"} <= keys:
        # id, prompt and category but no setting: the generic mapping with its default names.
        return "jsonl" if "category" in keys else "koala"
    return None


def _looks_like_csv(filename: str, text: str) -> bool:
    if filename.lower().endswith((".csv", ".tsv")):
        return True
    return not text.lstrip().startswith(("{", "["))


def parse_eval_set(
    *,
    data: bytes,
    filename: str,
    format: str = "auto",
    id_field: str | None = None,
    prompt_field: str | None = None,
    category_field: str | None = None,
    max_bytes: int | None = None,
) -> ParseResult:
    """Every record of the file, or `EvalSetImportError` listing what is wrong with it."""
    problems = _Problems(filename)
    if format != "auto" and format not in FORMATS:
        raise problems.fail(
            "", "", f"unknown format {format!r}; expected auto or one of {', '.join(FORMATS)}"
        )
    mapped = any(value is not None for value in (id_field, prompt_field, category_field))
    if mapped and format not in ("auto", "jsonl", "csv"):
        raise problems.fail("", "", "--id-field/--prompt-field/--category-field only apply to jsonl and csv")
    text = _decode(data, problems, max_bytes)
    options = _Options(id_field or "id", prompt_field or "prompt", category_field or "category")

    if format == "csv" or (format == "auto" and _looks_like_csv(filename, text)):
        format = "csv"
        items = _csv_items(text, problems, filename)
    else:
        items = _json_items(text, problems)
        if not items:
            raise problems.fail("", "", "the file holds no records")
        if format == "auto":
            detected = "jsonl" if mapped else detect_format(items)
            if detected is None:
                first = next((value for _, value in items if isinstance(value, dict)), None)
                fields = ", ".join(sorted(first)) if first else "no JSON objects"
                raise problems.fail(
                    items[0][0] if items else "",
                    "",
                    f"cannot tell the format (fields: {fields}); name it with --format",
                )
            format = detected
    if not items:
        raise problems.fail("", "", "the file holds no records")

    parser = PARSERS[format]
    records: list[PromptRecord] = []
    locations: dict[str, str] = {}
    for index, (location, value) in enumerate(items):
        if not isinstance(value, dict):
            problems.add(location, "", f"expected a JSON object, got {_type_name(value)}")
            continue
        try:
            _check_storable(value)
            parsed = parser(value, index, options)
        except _RecordError as exc:
            problems.add(location, exc.field_name, exc.message)
            continue
        for record in parsed:
            if record.uid in locations:
                id_name = {"vicuna": "question_id", "mtbench": "question_id", "alpacaeval": ""}.get(
                    format, options.id_field
                )
                problems.add(
                    location, id_name, f"duplicate id {record.uid!r} (first at {locations[record.uid]})"
                )
                continue
            locations[record.uid] = location
            records.append(record)
    problems.raise_if_any()

    for record in records:
        if record.variant_of is not None and record.variant_of not in locations:
            problems.add(
                locations[record.uid], "variant_of", f"names {record.variant_of!r}, no prompt of this file"
            )
        elif record.variant_of == record.uid:
            problems.add(locations[record.uid], "variant_of", "names the prompt itself")
    problems.raise_if_any()

    notes: list[str] = []
    if format == "mtbench":
        later = sum(1 for record in records if "later_turns" in record.metadata)
        notes.append(
            f"only the first turn is the prompt; the later turns of {later} question"
            f"{'s' if later != 1 else ''} were kept in metadata (later_turns)"
        )
    return ParseResult(format=format, records=records, notes=notes)
