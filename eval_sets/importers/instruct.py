"""Instruction sets: Self-Instruct's user-oriented instructions and AlpacaEval."""

from __future__ import annotations

from typing import Any

from eval_sets.importers.records import (
    MAX_UID_CHARS,
    Options,
    PromptRecord,
    RecordError,
    category_field,
    identifier_field,
    metadata_of,
    required_field,
    text_field,
    type_name,
)


def parse_selfinstruct(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    uid = identifier_field(record, "id")
    category = category_field(record, "motivation_app")
    instruction = text_field(record, "instruction")
    instances = required_field(record, "instances")
    if not isinstance(instances, list):
        raise RecordError("instances", f"expected a list of objects, got {type_name(instances)}")
    shaped: list[tuple[str, Any]] = []
    for number, instance in enumerate(instances, start=1):
        if not isinstance(instance, dict):
            raise RecordError("instances", f"instance {number} is {type_name(instance)}, not an object")
        given = instance.get("input", "")
        if not isinstance(given, str):
            raise RecordError("instances", f"instance {number} has an input that is {type_name(given)}")
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
        metadata = metadata_of(record, used, extra)
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
        raise RecordError("id", f"is too long to number its {len(records)} instances")
    return records


# What an AlpacaEval outputs file (model_outputs.json) says about one model's run, not about the
# prompt: kept, the "set" would carry that model's answers, and the same instructions taken from another
# model's file would hash as a new version.
ANSWER_FIELDS = ("output", "generator", "raw_completion", "price_per_example", "time_per_example")


def parse_alpacaeval(record: dict[str, Any], index: int, options: Options) -> list[PromptRecord]:
    text = text_field(record, "instruction")
    category = category_field(record, "dataset", required=False)
    return [
        PromptRecord(
            uid=f"alpacaeval_{index}",
            category=category,
            setting="zero_shot",
            text=text,
            metadata=metadata_of(record, ("instruction", "dataset", *ANSWER_FIELDS)),
        )
    ]
