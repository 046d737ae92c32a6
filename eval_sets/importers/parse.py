"""The entry point: read the file, tell its format, run the format's parser over every record.

A JSONL file is read in two streamed passes (eval_sets.importers.streaming): the first checks every
record and keeps only what the checks need (each id's line, the variants), the second yields the
records for storing. So a 500,000-line file is validated whole before anything is stored, without
holding its records. `parse_eval_set` gives the records as a list, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eval_sets.importers.chat import parse_koala, parse_mtbench, parse_vicuna
from eval_sets.importers.detect import detect_format
from eval_sets.importers.instruct import ANSWER_FIELDS, parse_alpacaeval, parse_selfinstruct
from eval_sets.importers.mapped import parse_mapped
from eval_sets.importers.reading import csv_items, looks_like_csv
from eval_sets.importers.records import (
    FORMATS,
    Options,
    Parser,
    ParseResult,
    Problems,
    PromptRecord,
    RecordError,
    check_storable,
    type_name,
)
from eval_sets.importers.streaming import RecordFile
from eval_sets.importers.usability import parse_usability

PARSERS: dict[str, Parser] = {
    "usability": parse_usability,
    "vicuna": parse_vicuna,
    "mtbench": parse_mtbench,
    "koala": parse_koala,
    "selfinstruct": parse_selfinstruct,
    "alpacaeval": parse_alpacaeval,
    "jsonl": parse_mapped,
    "csv": parse_mapped,
}

# Where each format keeps the prompt's text, to name the field of a prompt that is too long.
# One message for the upload page and the command: each reader finds its own way to choose.
CHOOSE_FORMAT = "choose the format yourself (Format on the upload page, --format on the command line)"
_PROMPT_FIELDS = {
    "usability": "prompt",
    "vicuna": "text",
    "mtbench": "turns",
    "koala": "prompt",
    "selfinstruct": "instruction",
    "alpacaeval": "instruction",
}


def parse_eval_set(
    *,
    data: bytes,
    filename: str,
    format: str = "auto",
    id_field: str | None = None,
    prompt_field: str | None = None,
    category_field: str | None = None,
    max_bytes: int | None = None,
    max_prompt_chars: int | None = None,
) -> ParseResult:
    """Every record of the file, or `EvalSetImportError` listing what is wrong with it.

    A prompt longer than `max_prompt_chars` (None: no limit) is a problem of its line.
    """
    parsed = parse_eval_set_stream(
        source=RecordFile(filename=filename, data=data),
        format=format,
        id_field=id_field,
        prompt_field=prompt_field,
        category_field=category_field,
        max_bytes=max_bytes,
        max_prompt_chars=max_prompt_chars,
    )
    return ParseResult(format=parsed.format, records=list(parsed.records()), notes=parsed.notes)


@dataclass
class StreamedParse:
    """A checked file: its format, how many prompts, notes; `records()` reads them again, in order."""

    format: str
    count: int
    notes: list[str]
    source: RecordFile
    options: Options
    csv_items: list[tuple[str, Any]] | None = None

    def _items(self) -> Iterable[tuple[str, Any]]:
        if self.csv_items is not None:
            return self.csv_items
        return self.source.items(Problems(self.source.filename))

    def records(self) -> Iterator[PromptRecord]:
        parser = PARSERS[self.format]
        for index, (_, value) in enumerate(self._items()):
            yield from parser(value, index, self.options)


def _detect(source: RecordFile, problems: Problems) -> tuple[str, str]:
    """(format, location of the first record), or the error the whole-file reader gave for this file."""
    first_location = ""
    first: dict[str, Any] | None = None
    multi_turn = False
    for location, value in source.items(Problems(source.filename)):
        first_location = first_location or location
        if isinstance(value, dict):
            if first is None:
                first = value
                if "question_id" not in value:
                    break  # only MT-Bench against Vicuna needs every record
            turns = value.get("turns")
            if isinstance(turns, list) and len(turns) > 1:
                multi_turn = True
                break
    detected = None if first is None else detect_format([(first_location, first)])
    if detected == "vicuna" and multi_turn:
        detected = "mtbench"
    if detected is None:
        # The whole-file reader named every line that is not JSON before telling the format.
        for _ in source.items(problems):
            pass
        problems.raise_if_any()
        if not first_location:
            raise problems.fail("", "", "the file holds no records")
        fields = ", ".join(sorted(first)) if first else "no JSON objects"
        raise problems.fail(first_location, "", f"cannot tell the format (fields: {fields}); {CHOOSE_FORMAT}")
    return detected, first_location


def parse_eval_set_stream(
    *,
    source: RecordFile,
    format: str = "auto",
    id_field: str | None = None,
    prompt_field: str | None = None,
    category_field: str | None = None,
    max_bytes: int | None = None,
    max_prompt_chars: int | None = None,
    on_record: Callable[[PromptRecord], None] | None = None,
) -> StreamedParse:
    """Check every record of the file in one streamed pass; `EvalSetImportError` lists what is wrong.

    `on_record` sees each record of a good file in order (the importer hashes them as they pass).
    """
    filename = source.filename
    problems = Problems(filename)
    if format != "auto" and format not in FORMATS:
        raise problems.fail(
            "", "", f"unknown format {format!r}; expected auto or one of {', '.join(FORMATS)}"
        )
    mapped = any(value is not None for value in (id_field, prompt_field, category_field))
    if mapped and format not in ("auto", "jsonl", "csv"):
        raise problems.fail("", "", "--id-field/--prompt-field/--category-field only apply to jsonl and csv")
    source.check(problems, max_bytes)
    options = Options(id_field or "id", prompt_field or "prompt", category_field or "category")

    csv_list: list[tuple[str, Any]] | None = None
    if format == "csv" or (format == "auto" and looks_like_csv(filename, source.first_char)):
        format = "csv"
        with source.open() as f:
            csv_list = csv_items(f.read().decode("utf-8-sig"), problems, filename)
        if not csv_list:
            raise problems.fail("", "", "the file holds no records")
    elif format == "auto":
        format = "jsonl" if mapped else _detect(source, problems)[0]

    parser = PARSERS[format]
    # Faults of records are kept apart: a file with lines that are not JSON is refused for those alone.
    checks = Problems(filename)
    locations: dict[str, str] = {}
    variants: list[tuple[str, str]] = []
    answer_fields: set[str] = set()
    items = 0
    multi = 0
    for index, (location, value) in enumerate(csv_list if csv_list is not None else source.items(problems)):
        items += 1
        if not isinstance(value, dict):
            checks.add(location, "", f"expected a JSON object, got {type_name(value)}")
            continue
        answer_fields.update(key for key in ANSWER_FIELDS if key in value)
        try:
            check_storable(value)
            parsed = parser(value, index, options)
        except RecordError as exc:
            checks.add(location, exc.field_name, exc.message)
            continue
        for record in parsed:
            longest = max((record.text, *record.turns), key=len)
            if max_prompt_chars is not None and len(longest) > max_prompt_chars:
                checks.add(
                    location,
                    _PROMPT_FIELDS.get(format, options.prompt_field),
                    f"the prompt is {len(longest)} characters long; prompts are at most "
                    f"{max_prompt_chars} (MAX_PROMPT_CHARS)",
                )
                continue
            if record.uid in locations:
                id_name = {"vicuna": "question_id", "mtbench": "question_id", "alpacaeval": ""}.get(
                    format, options.id_field
                )
                checks.add(
                    location, id_name, f"duplicate id {record.uid!r} (first at {locations[record.uid]})"
                )
                continue
            locations[record.uid] = location
            if record.variant_of is not None:
                variants.append((record.uid, record.variant_of))
            multi += bool(record.turns)
            if on_record is not None and not checks.items and not problems.items:
                on_record(record)
    problems.raise_if_any()
    if not items:
        raise problems.fail("", "", "the file holds no records")
    checks.raise_if_any()

    for uid, variant_of in variants:
        if variant_of not in locations:
            checks.add(locations[uid], "variant_of", f"names {variant_of!r}, no prompt of this file")
        elif variant_of == uid:
            checks.add(locations[uid], "variant_of", "names the prompt itself")
    checks.raise_if_any()

    notes: list[str] = []
    if format == "alpacaeval" and answer_fields:
        notes.append(
            f"an outputs file: only the prompts were kept, not the model's {', '.join(sorted(answer_fields))} "
            "(import the answers with import_outputs)"
        )
    if format == "mtbench":
        notes.append(f"{multi} question{'s' if multi != 1 else ''} kept as conversations (every turn)")
    return StreamedParse(
        format=format, count=len(locations), notes=notes, source=source, options=options, csv_items=csv_list
    )
