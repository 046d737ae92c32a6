"""The parsers, on small samples written here; no database involved."""

from __future__ import annotations

import json

import pytest

from eval_sets.importers import EvalSetImportError, parse_eval_set
from tests.eval_sets import samples
from tests.eval_sets.samples import jsonl


def parse(data: bytes, filename: str = "sample.jsonl", **kwargs):
    return parse_eval_set(data=data, filename=filename, **kwargs)


def problem_of(data: bytes, filename: str = "bad.jsonl", **kwargs):
    with pytest.raises(EvalSetImportError) as caught:
        parse(data, filename, **kwargs)
    return caught.value


def test_usability_records_keep_every_contract_field_and_unknown_fields_as_metadata():
    result = parse(samples.USABILITY, format="usability")
    assert [r.uid for r in result.records] == ["cr-1", "pl-1", "pl-1-cot", "fs-1"]
    cot = result.records[2]
    assert cot.setting == "zero_shot_cot"
    assert cot.variant_of == "pl-1"
    assert cot.metadata == {"author": "sam"}
    few = result.records[3]
    assert few.stop == ("\nQ:", "\n\n")
    assert few.text.endswith("Q: tall\nA:")


def test_vicuna_reads_both_a_single_turn_and_the_older_text_field():
    result = parse(samples.VICUNA, format="vicuna")
    assert [(r.uid, r.category, r.text) for r in result.records] == [
        ("1", "generic", "How do I bake bread?"),
        ("2", "coding", "Reverse a list in Python."),
    ]


def test_mtbench_keeps_every_turn_of_a_question_as_a_conversation():
    result = parse(samples.MTBENCH, format="mtbench")
    first, second = result.records
    assert first.text == "Write a poem."
    assert first.turns == ("Write a poem.", "Now make it rhyme.")
    assert first.metadata == {}
    assert second.turns[1] == "And 3+3?"
    assert second.metadata == {"reference": ["4", "6"]}
    assert any("2 questions kept as conversations" in note for note in result.notes)


def test_generic_jsonl_reads_turns_in_place_of_the_prompt():
    data = jsonl(
        {"id": "c1", "turns": ["Hi.", "And then?"], "category": "chat"}, {"id": "c2", "prompt": "One."}
    )
    result = parse(data)
    assert result.format == "jsonl"
    first, second = result.records
    assert (first.text, first.turns, first.category) == ("Hi.", ("Hi.", "And then?"), "chat")
    assert (second.text, second.turns) == ("One.", ())


def test_a_contract_line_whose_prompt_is_not_its_first_turn_is_refused():
    data = jsonl({"id": "c1", "category": "c", "setting": "zero_shot", "prompt": "A", "turns": ["B", "C"]})
    with pytest.raises(EvalSetImportError, match="differs from the first of `turns`"):
        parse(data)


def test_koala_prompts_get_the_general_category():
    result = parse(samples.KOALA, format="koala")
    assert [(r.uid, r.category) for r in result.records] == [("koala_0", "general"), ("koala_1", "general")]


def test_selfinstruct_joins_instruction_and_input_and_takes_the_app_as_category():
    result = parse(samples.SELFINSTRUCT, format="selfinstruct")
    with_input, without_input = result.records
    assert with_input.text == "Fix the grammar.\n\nhe go to school"
    assert with_input.category == "Grammarly"
    assert with_input.metadata["reference_output"] == "He goes to school."
    assert without_input.text == "Suggest a search query."


def test_selfinstruct_with_several_instances_gives_one_prompt_per_instance():
    data = jsonl(
        {
            "id": "t",
            "motivation_app": "X",
            "instruction": "Sort.",
            "instances": [{"input": "b a"}, {"input": "d c"}],
        }
    )
    result = parse(data, format="selfinstruct")
    assert [(r.uid, r.text) for r in result.records] == [("t#1", "Sort.\n\nb a"), ("t#2", "Sort.\n\nd c")]


def test_alpacaeval_reads_a_json_list_with_dataset_as_category():
    result = parse(samples.ALPACAEVAL_LIST, "alpaca.json", format="alpacaeval")
    assert [(r.uid, r.category, r.text) for r in result.records] == [
        ("alpacaeval_0", "helpful_base", "Name a prime number."),
        ("alpacaeval_1", "koala", "Describe the sea."),
    ]
    # An outputs file: the model's answer and name are not the prompt's, so they are not kept.
    assert result.records[0].metadata == {}
    assert any("only the prompts were kept, not the model's generator, output" in n for n in result.notes)


def test_generic_jsonl_uses_the_field_mapping_and_keeps_other_fields():
    result = parse(
        samples.GENERIC_JSONL, format="jsonl", id_field="qid", prompt_field="question", category_field="topic"
    )
    assert [(r.uid, r.category, r.text) for r in result.records] == [
        ("a", "science", "Why is the sky blue?"),
        ("b", "language", "What is a verb?"),
    ]
    assert result.records[0].metadata == {"difficulty": 2}


def test_csv_uses_the_mapping_and_keeps_multiline_quoted_prompts():
    result = parse(
        samples.CSV, "s.csv", format="csv", id_field="key", prompt_field="text", category_field="kind"
    )
    assert result.records[0].text == "Summarise this:\nline one, line two"
    assert result.records[1].category == "translation"
    assert result.records[0].metadata == {"note": "first"}


def test_metadata_that_would_clash_with_a_contract_key_is_renamed():
    data = jsonl({"qid": "a", "question": "Why?", "id": 7, "prompt": "old"})
    record = parse(data, format="jsonl", id_field="qid", prompt_field="question").records[0]
    assert record.metadata == {"source_id": 7, "source_prompt": "old"}
    assert set(record.as_contract()) == {
        "id",
        "category",
        "setting",
        "prompt",
        "variant_of",
        "stop",
        "source_id",
        "source_prompt",
    }


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (samples.USABILITY, "a.jsonl", "usability"),
        (samples.VICUNA, "a.jsonl", "vicuna"),
        (samples.MTBENCH, "a.jsonl", "mtbench"),
        (samples.KOALA, "a.jsonl", "koala"),
        (samples.SELFINSTRUCT, "a.jsonl", "selfinstruct"),
        (samples.ALPACAEVAL_LIST, "a.json", "alpacaeval"),
        (jsonl({"id": "x", "prompt": "p", "category": "c"}), "a.jsonl", "jsonl"),
        (b"id,prompt\n1,hello\n", "a.csv", "csv"),
        (b"id,prompt\n1,hello\n", "no-extension", "csv"),
    ],
)
def test_auto_detection_names_the_format_of_each_sample(data, filename, expected):
    assert parse(data, filename).format == expected


def test_auto_detection_with_a_mapping_reads_generic_jsonl():
    result = parse(samples.GENERIC_JSONL, id_field="qid", prompt_field="question")
    assert result.format == "jsonl"
    assert result.records[0].category == "general"


def test_an_unrecognised_shape_asks_for_a_format():
    error = problem_of(jsonl({"foo": 1, "bar": 2}))
    assert "bad.jsonl" in str(error)
    assert "bar, foo" in str(error)
    assert "--format" in str(error)


def test_a_byte_order_mark_is_accepted():
    assert len(parse(b"\xef\xbb\xbf" + samples.KOALA).records) == 2


# --- bad input: every problem names the file, the line and the field ---------------------------------


def test_bad_encoding_names_the_file_and_the_line():
    data = samples.KOALA + b'{"id": "k9", "prompt": "caf\xe9"}\n'
    error = problem_of(data)
    assert str(error).startswith("bad.jsonl, line 3: not UTF-8")


def test_invalid_json_names_the_line():
    error = problem_of(samples.KOALA + b'{"id": "k9", "prompt": \n')
    assert str(error).startswith("bad.jsonl, line 3: not valid JSON")


def test_duplicate_ids_name_both_lines_and_the_field():
    data = jsonl({"id": "k", "prompt": "a"}, {"id": "z", "prompt": "b"}, {"id": "k", "prompt": "c"})
    error = problem_of(data)
    assert str(error) == "bad.jsonl, line 3, field 'id': duplicate id 'k' (first at line 1)"


def test_an_integer_id_and_the_same_id_as_text_are_duplicates():
    error = problem_of(
        jsonl(
            {"question_id": 1, "category": "c", "turns": ["a"]},
            {"question_id": "1", "category": "c", "turns": ["b"]},
        )
    )
    assert "line 2, field 'question_id': duplicate id '1'" in str(error)


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_empty_prompts_are_rejected(prompt):
    error = problem_of(jsonl({"id": "a", "prompt": "fine"}, {"id": "b", "prompt": prompt}))
    assert str(error) == "bad.jsonl, line 2, field 'prompt': is empty"


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"id": 1.5, "prompt": "p"}, "id", "expected a string or an integer, got a number"),
        ({"id": True, "prompt": "p"}, "id", "expected a string or an integer, got a boolean"),
        ({"id": "a", "prompt": ["p"]}, "prompt", "expected a string, got a list"),
        ({"id": "a", "prompt": "p", "setting": "one_shot", "category": "c"}, "setting", "is 'one_shot'"),
        (
            {"id": "a", "prompt": "p", "setting": "few_shot", "category": "c", "stop": "\n"},
            "stop",
            "expected a list of strings, got a string",
        ),
        (
            {"id": "a", "prompt": "p", "setting": "few_shot", "category": "c", "stop": [1]},
            "stop",
            "expected a list of strings, found a number",
        ),
        ({"id": "a", "prompt": "p", "setting": "few_shot", "category": 3}, "category", "expected a string"),
        ({"id": "a", "prompt": "p\u0000q"}, "prompt", "NUL character"),
        ({"id": "x" * 201, "prompt": "p"}, "id", "ids are at most 200"),
    ],
)
def test_wrong_types_and_values_name_the_line_and_the_field(record, field, message):
    error = problem_of(
        jsonl({"id": "ok", "prompt": "fine", "setting": "zero_shot", "category": "c"}, record),
        format="usability" if "setting" in record else "koala",
    )
    assert str(error).startswith(f"bad.jsonl, line 2, field {field!r}: ")
    assert message in str(error)


def test_a_missing_field_lists_the_fields_present():
    error = problem_of(
        jsonl({"question_id": 1, "category": "c", "turns": ["a"]}, {"question_id": 2, "turns": ["b"]}),
        format="vicuna",
    )
    assert str(error) == "bad.jsonl, line 2, field 'category': missing (fields present: question_id, turns)"


def test_a_multi_turn_record_is_refused_as_vicuna():
    error = problem_of(samples.MTBENCH, format="vicuna")
    assert "field 'turns': has 2 turns" in str(error)


def test_a_variant_of_an_unknown_prompt_is_refused():
    data = jsonl(
        {"id": "a", "category": "c", "setting": "zero_shot_cot", "prompt": "p", "variant_of": "nope"}
    )
    assert "line 1, field 'variant_of': names 'nope'" in str(problem_of(data))


def test_json_records_that_are_not_objects_are_refused():
    error = problem_of(b'{"id": "a", "prompt": "p"}\n[1, 2]\n')
    assert "line 2: expected a JSON object, got a list" in str(error)


def test_nan_and_duplicate_keys_are_not_valid_json_here():
    assert "NaN is not a JSON number" in str(problem_of(b'{"id": "a", "prompt": "p", "x": NaN}\n'))
    assert "duplicate key 'id'" in str(problem_of(b'{"id": "a", "id": "b", "prompt": "p"}\n'))


def test_every_bad_line_is_reported_not_only_the_first():
    data = jsonl({"id": "a", "prompt": ""}, {"id": "b", "prompt": "ok"}, {"id": "c", "prompt": 4})
    error = problem_of(data)
    assert [p.location for p in error.problems] == ["line 1", "line 3"]
    assert "(and 1 more problem)" in str(error)
    assert "\n" not in str(error)


def test_an_oversized_file_is_refused_before_parsing():
    error = problem_of(samples.KOALA, max_bytes=10)
    assert str(error).startswith(f"bad.jsonl: file is {len(samples.KOALA):,} bytes; the limit is 10 bytes")


def test_an_empty_file_is_refused():
    assert "empty" in str(problem_of(b" \n\n"))
    assert "no records" in str(problem_of(b"[]"))


def test_a_csv_row_with_the_wrong_number_of_cells_names_its_line():
    error = problem_of(b"id,prompt\n1,hi\n2,hi,extra\n", "bad.csv")
    assert str(error) == "bad.csv, line 3: row has 3 cells; the header has 2 columns"


def test_a_csv_without_the_mapped_column_names_the_field():
    error = problem_of(b"key,text\n1,hi\n", "bad.csv", prompt_field="text")
    assert str(error).startswith("bad.csv, line 2, field 'id': missing")


def test_a_mapping_with_a_non_generic_format_is_refused():
    assert "only apply to jsonl and csv" in str(problem_of(samples.KOALA, format="koala", id_field="x"))


def test_a_json_array_reports_record_numbers():
    error = problem_of(json.dumps([{"instruction": "a"}, {"instruction": ""}]).encode(), "a.json")
    assert str(error) == "a.json, record 2, field 'instruction': is empty"


def test_only_newlines_end_a_jsonl_line_not_unicode_line_separators():
    data = '{"id": "a", "prompt": "one\u2028two\x85three"}\n'.encode()
    assert parse(data).records[0].text == "one\u2028two\x85three"


def test_windows_line_endings_are_read():
    assert len(parse(samples.KOALA.replace(b"\n", b"\r\n")).records) == 2


def test_deeply_nested_metadata_is_refused_with_its_field():
    deep: object = "leaf"
    for _ in range(100):
        deep = [deep]
    error = problem_of(jsonl({"id": "a", "prompt": "p", "extra": deep}))
    assert str(error) == "bad.jsonl, line 1, field 'extra': a value is nested more than 64 levels deep"


def test_integral_floats_in_metadata_are_stored_as_integers_as_postgresql_would():
    record = parse(b'{"id": "a", "prompt": "p", "big": 1e16, "half": 0.5, "list": [2.0]}\n').records[0]
    assert record.metadata == {"big": 10**16, "half": 0.5, "list": [2]}
    assert isinstance(record.metadata["big"], int)
