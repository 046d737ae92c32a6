"""The contract's own format: the bundled usability set and every export."""

from __future__ import annotations

from typing import Any

from eval_sets.importers.records import (
    CONTRACT_KEYS,
    SETTINGS,
    Options,
    PromptRecord,
    RecordError,
    category_field,
    conversation_fields,
    identifier_field,
    metadata_of,
    required_field,
    type_name,
)


def parse_usability(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, "id")
    category = category_field(record, "category")
    setting = required_field(record, "setting")
    if setting not in SETTINGS:
        raise RecordError("setting", f"is {setting!r}; expected one of {', '.join(SETTINGS)}")
    text, turns = conversation_fields(record, "prompt")
    variant_of = record.get("variant_of")
    if variant_of is not None:
        if not isinstance(variant_of, str | int) or isinstance(variant_of, bool):
            raise RecordError("variant_of", f"expected a string or null, got {type_name(variant_of)}")
        variant_of = str(variant_of).strip() or None
    stop = record.get("stop", [])
    if stop is None:
        stop = []
    if not isinstance(stop, list):
        raise RecordError("stop", f"expected a list of strings, got {type_name(stop)}")
    for item in stop:
        if not isinstance(item, str):
            raise RecordError("stop", f"expected a list of strings, found {type_name(item)}")
        if not item:
            raise RecordError("stop", "contains an empty string")
    return [
        PromptRecord(
            uid=uid,
            category=category,
            setting=setting,
            text=text,
            variant_of=variant_of,
            stop=tuple(stop),
            metadata=metadata_of(record, CONTRACT_KEYS),
            turns=turns,
        )
    ]
