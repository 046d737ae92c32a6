"""Telling a JSON file's format from the fields its records carry."""

from __future__ import annotations

from typing import Any


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
    if {"id", "turns"} <= keys and "prompt" not in keys:
        # A generic conversation file: the user's messages and no separate prompt column.
        return "jsonl"
    if {"id", "prompt"} <= keys:
        # id, prompt and category but no setting: the generic mapping with its default names.
        return "jsonl" if "category" in keys else "koala"
    return None
