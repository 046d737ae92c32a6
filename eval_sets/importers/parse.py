"""The entry point: read the file, tell its format, run the format's parser over every record."""

from __future__ import annotations

from eval_sets.importers.chat import parse_koala, parse_mtbench, parse_vicuna
from eval_sets.importers.detect import detect_format
from eval_sets.importers.instruct import ANSWER_FIELDS, parse_alpacaeval, parse_selfinstruct
from eval_sets.importers.mapped import parse_mapped
from eval_sets.importers.reading import csv_items, decode, json_items, looks_like_csv
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
    problems = Problems(filename)
    if format != "auto" and format not in FORMATS:
        raise problems.fail(
            "", "", f"unknown format {format!r}; expected auto or one of {', '.join(FORMATS)}"
        )
    mapped = any(value is not None for value in (id_field, prompt_field, category_field))
    if mapped and format not in ("auto", "jsonl", "csv"):
        raise problems.fail("", "", "--id-field/--prompt-field/--category-field only apply to jsonl and csv")
    text = decode(data, problems, max_bytes)
    options = Options(id_field or "id", prompt_field or "prompt", category_field or "category")

    if format == "csv" or (format == "auto" and looks_like_csv(filename, text)):
        format = "csv"
        items = csv_items(text, problems, filename)
    else:
        items = json_items(text, problems)
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
                    f"cannot tell the format (fields: {fields}); {CHOOSE_FORMAT}",
                )
            format = detected
    if not items:
        raise problems.fail("", "", "the file holds no records")

    parser = PARSERS[format]
    records: list[PromptRecord] = []
    locations: dict[str, str] = {}
    for index, (location, value) in enumerate(items):
        if not isinstance(value, dict):
            problems.add(location, "", f"expected a JSON object, got {type_name(value)}")
            continue
        try:
            check_storable(value)
            parsed = parser(value, index, options)
        except RecordError as exc:
            problems.add(location, exc.field_name, exc.message)
            continue
        for record in parsed:
            longest = max((record.text, *record.turns), key=len)
            if max_prompt_chars is not None and len(longest) > max_prompt_chars:
                problems.add(
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
    dropped = sorted(
        {key for _, value in items if isinstance(value, dict) for key in value} & set(ANSWER_FIELDS)
    )
    if format == "alpacaeval" and dropped:
        notes.append(
            f"an outputs file: only the prompts were kept, not the model's {', '.join(dropped)} "
            "(import the answers with import_outputs)"
        )
    if format == "mtbench":
        multi = sum(1 for record in records if record.turns)
        notes.append(f"{multi} question{'s' if multi != 1 else ''} kept as conversations (every turn)")
    return ParseResult(format=format, records=records, notes=notes)
