"""Small sample files in every supported format, written here rather than read from disk."""

from __future__ import annotations

import json
from typing import Any


def jsonl(*records: Any) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode("utf-8")


USABILITY = jsonl(
    {
        "id": "cr-1",
        "category": "creativity",
        "setting": "zero_shot",
        "prompt": "Write a haiku about tides.",
        "variant_of": None,
        "stop": [],
    },
    {
        "id": "pl-1",
        "category": "planning",
        "setting": "zero_shot",
        "prompt": "Plan a two-day hike.",
        "variant_of": None,
        "stop": [],
    },
    {
        "id": "pl-1-cot",
        "category": "planning",
        "setting": "zero_shot_cot",
        "prompt": "Plan a two-day hike. Let's think step by step.",
        "variant_of": "pl-1",
        "stop": [],
        "author": "sam",
    },
    {
        "id": "fs-1",
        "category": "antonyms",
        "setting": "few_shot",
        "prompt": "Q: hot\nA: cold\n\nQ: tall\nA:",
        "variant_of": None,
        "stop": ["\nQ:", "\n\n"],
    },
)

VICUNA = jsonl(
    {"question_id": 1, "category": "generic", "turns": ["How do I bake bread?"]},
    {"question_id": 2, "category": "coding", "text": "Reverse a list in Python."},
)

MTBENCH = jsonl(
    {"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Now make it rhyme."]},
    {"question_id": 82, "category": "math", "turns": ["What is 2+2?", "And 3+3?"], "reference": ["4", "6"]},
)

KOALA = jsonl(
    {"id": "koala_0", "prompt": "List three rivers in Africa."},
    {"id": "koala_1", "prompt": "Explain recursion to a child."},
)

SELFINSTRUCT = jsonl(
    {
        "id": "task_0",
        "motivation_app": "Grammarly",
        "instruction": "Fix the grammar.",
        "instances": [{"input": "he go to school", "output": "He goes to school."}],
    },
    {
        "id": "task_1",
        "motivation_app": "Google Search",
        "instruction": "Suggest a search query.",
        "instances": [{"input": "", "output": "best tents"}],
    },
)

ALPACAEVAL_LIST = json.dumps(
    [
        {
            "instruction": "Name a prime number.",
            "output": "7",
            "generator": "text_davinci_003",
            "dataset": "helpful_base",
        },
        {
            "instruction": "Describe the sea.",
            "output": "Blue.",
            "generator": "text_davinci_003",
            "dataset": "koala",
        },
    ]
).encode("utf-8")

GENERIC_JSONL = jsonl(
    {"qid": "a", "question": "Why is the sky blue?", "topic": "science", "difficulty": 2},
    {"qid": "b", "question": "What is a verb?", "topic": "language", "difficulty": 1},
)

CSV = (
    b"key,text,kind,note\r\n"
    b'k1,"Summarise this:\nline one, line two",summary,first\r\n'
    b"k2,Translate 'cat' to French,translation,\r\n"
)
