"""Generic JSONL and CSV files read through a column mapping."""

from __future__ import annotations

from typing import Any

from eval_sets.importers.records import (
    Options,
    PromptRecord,
    category_field,
    identifier_field,
    metadata_of,
    text_field,
)


def parse_mapped(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, options.id_field)
    text = text_field(record, options.prompt_field)
    category = category_field(record, options.category_field, required=False)
    used = (options.id_field, options.prompt_field, options.category_field)
    return [
        PromptRecord(
            uid=uid, category=category, setting="zero_shot", text=text, metadata=metadata_of(record, used)
        )
    ]
