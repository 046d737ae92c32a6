"""Generic JSONL and CSV files read through a column mapping."""

from __future__ import annotations

from typing import Any

from eval_sets.importers.records import (
    Options,
    PromptRecord,
    category_field,
    conversation_fields,
    identifier_field,
    metadata_of,
)


def parse_mapped(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, options.id_field)
    # A JSONL record may give the conversation's `turns` instead of (or beside) the prompt column.
    # A CSV cell named turns is a string, not a conversation: it stays metadata as before.
    conversation = isinstance(record.get("turns"), list) or options.prompt_field not in record
    if conversation:
        text, turns = conversation_fields(record, options.prompt_field)
    else:
        text, turns = conversation_fields(
            {options.prompt_field: record[options.prompt_field]}, options.prompt_field
        )
    category = category_field(record, options.category_field, required=False)
    used = (options.id_field, options.prompt_field, options.category_field) + (
        ("turns",) if conversation else ()
    )
    return [
        PromptRecord(
            uid=uid,
            category=category,
            setting="zero_shot",
            text=text,
            metadata=metadata_of(record, used),
            turns=turns,
        )
    ]
