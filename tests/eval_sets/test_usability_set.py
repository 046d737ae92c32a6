"""Composition of the bundled usability set (eval_sets/data/usability-190.jsonl).

Pure Python: the file is read as the eval-set contract describes it, without Django or the importer, so a
broken file is caught even when the importer is broken too.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parents[2] / "eval_sets" / "data" / "usability-190.jsonl"

ZERO_SHOT_CATEGORIES = [
    "creativity",
    "reasoning_over_contexts",
    "complex_reasoning",
    "planning",
    "explanation",
]
COT_CATEGORIES = {"complex_reasoning", "planning", "explanation"}
CONTRACT_KEYS = {"id", "category", "setting", "prompt", "variant_of", "stop"}
# A label at the start of a line, such as "Q:" or "Question:"; few-shot markers are one or two words.
MARKER = re.compile(r"^([A-Z][A-Za-z]*(?: [A-Za-z]+)?:)")
SENTENCE_END = re.compile(r"[.!?](?=[\s\"']|$)")


@cache
def load_rows() -> tuple[dict[str, Any], ...]:
    raw = DATA_FILE.read_bytes()
    text = raw.decode("utf-8")  # raises if the file is not UTF-8
    lines = text.split("\n")
    assert lines[-1] == "", "the file must end with a newline"
    rows = []
    for number, line in enumerate(lines[:-1], 1):
        assert line.strip(), f"line {number} is blank"
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number} is not a JSON object"
        rows.append(row)
    return tuple(rows)


def by_setting(setting: str) -> list[dict[str, Any]]:
    return [row for row in load_rows() if row["setting"] == setting]


def few_shot_parts(prompt: str) -> tuple[str, str, list[tuple[str, str]]]:
    """Split a few-shot prompt into (input marker, output marker, exemplars).

    The delimiter pair is read from the open query at the end ("<input marker> query" then a bare
    "<output marker>"), so any pair of line labels works; lines before the first exemplar are instructions.
    """
    lines = prompt.split("\n")
    output_marker = lines[-1]
    assert MARKER.fullmatch(output_marker), f"the prompt must end with an open answer slot: {output_marker!r}"
    match = MARKER.match(lines[-2])
    assert match, f"the query line must start with a marker: {lines[-2]!r}"
    input_marker = match.group(1)
    assert input_marker != output_marker
    labelled = [line for line in lines if line.startswith((input_marker, output_marker))]
    assert labelled[-2:] == [lines[-2], output_marker]
    exemplar_lines = labelled[:-2]
    assert len(exemplar_lines) % 2 == 0, "every exemplar input needs exactly one answer"
    exemplars = []
    for question, answer in zip(exemplar_lines[::2], exemplar_lines[1::2], strict=True):
        assert question.startswith(input_marker), f"expected {input_marker!r} before {question!r}"
        assert answer.startswith(output_marker), f"expected {output_marker!r} before {answer!r}"
        exemplars.append((question[len(input_marker) :].strip(), answer[len(output_marker) :].strip()))
    return input_marker, output_marker, exemplars


def test_every_line_follows_the_eval_set_contract():
    for row in load_rows():
        assert set(row) == CONTRACT_KEYS, row.get("id")
        assert isinstance(row["id"], str) and row["id"]
        assert isinstance(row["category"], str) and row["category"]
        assert row["setting"] in {"zero_shot", "zero_shot_cot", "few_shot"}
        assert isinstance(row["prompt"], str)
        assert row["variant_of"] is None or isinstance(row["variant_of"], str)
        assert isinstance(row["stop"], list) and all(isinstance(s, str) and s for s in row["stop"])


def test_the_set_holds_190_prompts_split_100_60_30_by_setting():
    assert len(load_rows()) == 190
    assert Counter(row["setting"] for row in load_rows()) == {
        "zero_shot": 100,
        "zero_shot_cot": 60,
        "few_shot": 30,
    }


def test_zero_shot_prompts_are_twenty_in_each_of_the_five_categories():
    assert Counter(row["category"] for row in by_setting("zero_shot")) == dict.fromkeys(
        ZERO_SHOT_CATEGORIES, 20
    )


def test_chain_of_thought_variants_are_twenty_in_each_reasoning_category():
    assert Counter(row["category"] for row in by_setting("zero_shot_cot")) == dict.fromkeys(
        COT_CATEGORIES, 20
    )


def test_rows_are_ordered_zero_shot_by_category_then_cot_then_few_shot():
    settings = [row["setting"] for row in load_rows()]
    assert settings == ["zero_shot"] * 100 + ["zero_shot_cot"] * 60 + ["few_shot"] * 30
    categories = [row["category"] for row in by_setting("zero_shot")]
    assert categories == [c for c in ZERO_SHOT_CATEGORIES for _ in range(20)]


def test_ids_are_unique_and_readable():
    ids = [row["id"] for row in load_rows()]
    assert len(set(ids)) == len(ids)
    for row in load_rows():
        assert re.fullmatch(r"[a-z0-9_]+(-[a-z0-9_]+)*", row["id"]), row["id"]
        if row["setting"] == "few_shot":
            assert row["id"].startswith(f"fewshot-{row['category']}-")
        else:
            assert row["id"].startswith(f"{row['category']}-")


def test_prompt_texts_are_unique_and_not_empty():
    texts = [row["prompt"] for row in load_rows()]
    assert all(text.strip() for text in texts)
    assert all(text == text.strip() for text in texts), "no leading or trailing whitespace"
    normalised = [" ".join(text.lower().split()) for text in texts]
    assert len(set(normalised)) == len(normalised)


def test_zero_shot_prompts_are_originals_without_stop_strings():
    for row in by_setting("zero_shot"):
        assert row["variant_of"] is None, row["id"]
        assert row["stop"] == [], row["id"]


def test_reasoning_over_contexts_prompts_carry_a_passage_before_the_question():
    for row in by_setting("zero_shot"):
        if row["category"] != "reasoning_over_contexts":
            continue
        assert len(row["prompt"]) >= 300, row["id"]
        passage, _, question = row["prompt"].rpartition("\n\n")
        assert len(passage) >= 200, row["id"]
        assert 3 <= len(SENTENCE_END.findall(passage)) <= 8, row["id"]
        assert "?" in question and "?" not in passage, row["id"]


def test_every_cot_variant_repeats_its_original_verbatim_and_adds_a_trigger():
    originals = {row["id"]: row for row in by_setting("zero_shot")}
    for row in by_setting("zero_shot_cot"):
        original = originals.get(row["variant_of"])
        assert original is not None, f"{row['id']} points at {row['variant_of']!r}"
        assert original["category"] in COT_CATEGORIES
        assert row["category"] == original["category"]
        assert row["id"] == f"{original['id']}-cot"
        assert row["stop"] == []
        assert row["prompt"].startswith(original["prompt"])
        trigger = row["prompt"][len(original["prompt"]) :].strip()
        assert trigger, f"{row['id']} adds no trigger"
        # A trigger is one short sentence, not a second question.
        assert len(trigger) <= 80 and "?" not in trigger, row["id"]


def test_each_reasoning_prompt_has_exactly_one_cot_variant():
    variants = Counter(row["variant_of"] for row in by_setting("zero_shot_cot"))
    expected = {row["id"] for row in by_setting("zero_shot") if row["category"] in COT_CATEGORIES}
    assert set(variants) == expected
    assert set(variants.values()) == {1}


def test_cot_triggers_vary_and_never_appear_in_zero_shot_prompts():
    originals = {row["id"]: row["prompt"] for row in by_setting("zero_shot")}
    triggers = {
        row["prompt"][len(originals[row["variant_of"]]) :].strip() for row in by_setting("zero_shot_cot")
    }
    assert len(triggers) >= 4
    for text in originals.values():
        assert not any(trigger in text for trigger in triggers)


def test_few_shot_prompts_have_two_to_five_worked_exemplars_and_an_open_query():
    for row in by_setting("few_shot"):
        _, _, exemplars = few_shot_parts(row["prompt"])
        assert 2 <= len(exemplars) <= 5, (row["id"], len(exemplars))
        assert all(question and answer for question, answer in exemplars), row["id"]
        query = row["prompt"].split("\n")[-2]
        assert all(query.split(":", 1)[1].strip() != question for question, _ in exemplars), row["id"]


def test_few_shot_stop_strings_end_the_answer_before_the_next_exemplar():
    for row in by_setting("few_shot"):
        input_marker, _, _ = few_shot_parts(row["prompt"])
        assert row["variant_of"] is None
        assert row["stop"], row["id"]
        assert f"\n{input_marker}" in row["stop"], row["id"]


def test_few_shot_prompts_use_at_least_three_delimiter_styles():
    styles = {few_shot_parts(row["prompt"])[:2] for row in by_setting("few_shot")}
    assert len(styles) >= 3
    assert {("Q:", "A:"), ("Question:", "Answer:"), ("Input:", "Output:")} <= styles


def test_few_shot_categories_name_eight_to_fifteen_tasks():
    tasks = Counter(row["category"] for row in by_setting("few_shot"))
    assert 8 <= len(tasks) <= 15
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", task) for task in tasks)
    assert all(count >= 2 for count in tasks.values()), "each task should be probed more than once"
