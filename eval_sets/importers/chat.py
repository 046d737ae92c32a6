"""Chat benchmarks: Vicuna and MT-Bench questions, Koala prompts."""

from __future__ import annotations

from typing import Any

from eval_sets.importers.records import (
    DEFAULT_CATEGORY,
    Options,
    PromptRecord,
    RecordError,
    category_field,
    identifier_field,
    metadata_of,
    text_field,
    turns_field,
)


def parse_vicuna(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, "question_id")
    category = category_field(record, "category")
    if "text" in record:
        text = text_field(record, "text")
        used = ("question_id", "category", "text")
    else:
        turns = turns_field(record)
        if len(turns) != 1:
            raise RecordError(
                "turns", f"has {len(turns)} turns; Vicuna questions have one (multi-turn files are mtbench)"
            )
        text = turns[0]
        used = ("question_id", "category", "turns")
    return [
        PromptRecord(
            uid=uid, category=category, setting="zero_shot", text=text, metadata=metadata_of(record, used)
        )
    ]


def parse_mtbench(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, "question_id")
    category = category_field(record, "category")
    turns = turns_field(record)
    metadata = metadata_of(record, ("question_id", "category", "turns"))
    return [
        PromptRecord(
            uid=uid,
            category=category,
            setting="zero_shot",
            text=turns[0],
            metadata=metadata,
            turns=tuple(turns) if len(turns) > 1 else (),
        )
    ]


def parse_koala(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, "id")
    text = text_field(record, "prompt")
    return [
        PromptRecord(
            uid=uid,
            category=DEFAULT_CATEGORY,
            setting="zero_shot",
            text=text,
            metadata=metadata_of(record, ("id", "prompt")),
        )
    ]
