"""Random bytes and random JSON thrown at the importer: a clean import or a clean error, never a crash,
and never a partial import."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eval_sets.importers import FORMATS, EvalSetImportError
from eval_sets.models import EvalSet, Prompt
from eval_sets.services import eval_set_import

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KEYS = [
    "id",
    "prompt",
    "category",
    "setting",
    "variant_of",
    "stop",
    "question_id",
    "turns",
    "text",
    "instruction",
    "instances",
    "motivation_app",
    "dataset",
    "output",
    "input",
    "metadata",
]
# Characters that databases and encoders trip over, mixed into ordinary text.
awkward_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(["\x00", "\ud800", "\n", "\r", "@", "\ufeff"])),
    max_size=20,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    awkward_text,
    st.sampled_from(["zero_shot", "few_shot", "zero_shot_cot", "a", "1"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | awkward_text, children, max_size=4),
    ),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=7)
formats = st.sampled_from(["auto", *FORMATS])


def attempt(data: bytes, filename: str, format: str) -> None:
    prompts_before = Prompt.objects.count()
    sets_before = EvalSet.objects.count()
    try:
        result = eval_set_import(data=data, filename=filename, name="fuzz", format=format)
    except EvalSetImportError as exc:
        assert exc.problems
        assert all(problem.file == filename for problem in exc.problems)
        assert "\n" not in str(exc)
        assert Prompt.objects.count() == prompts_before
        assert EvalSet.objects.count() == sets_before
        return
    stored = result.eval_set.prompts.count()
    assert stored == result.prompt_count > 0
    expected_new = stored if result.created else 0
    assert Prompt.objects.count() == prompts_before + expected_new


@FUZZ
@given(
    data=st.binary(max_size=300),
    filename=st.sampled_from(["f.jsonl", "f.csv", "f.json", "f"]),
    format=formats,
)
def test_random_bytes_import_cleanly_or_fail_cleanly(data, filename, format):
    attempt(data, filename, format)


@FUZZ
@given(lines=st.lists(st.one_of(records, json_values), min_size=0, max_size=5), format=formats)
def test_random_json_lines_import_cleanly_or_fail_cleanly(lines, format):
    data = "\n".join(json.dumps(line) for line in lines).encode("utf-8")
    attempt(data, "f.jsonl", format)


@FUZZ
@given(document=st.lists(records, max_size=5) | json_values, format=formats)
def test_a_random_json_document_imports_cleanly_or_fails_cleanly(document, format):
    attempt(json.dumps(document).encode("utf-8"), "f.json", format)


@FUZZ
@given(rows=st.lists(st.lists(awkward_text, min_size=1, max_size=4), min_size=1, max_size=5))
def test_random_csv_imports_cleanly_or_fails_cleanly(rows):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    try:
        data = buffer.getvalue().encode("utf-8")
    except UnicodeEncodeError:
        data = buffer.getvalue().encode("utf-8", "surrogatepass")
    attempt(data, "f.csv", "auto")


@FUZZ
@given(
    prompts=st.lists(
        st.fixed_dictionaries(
            {"id": st.text(min_size=1, max_size=8), "prompt": st.text(min_size=1, max_size=30)},
            optional={"category": st.text(min_size=1, max_size=8), "extra": json_values},
        ),
        min_size=1,
        max_size=6,
    )
)
def test_plausible_files_that_import_round_trip_to_the_same_version(prompts):
    from eval_sets.services import eval_set_export

    data = "\n".join(json.dumps(p) for p in prompts).encode("utf-8")
    try:
        result = eval_set_import(data=data, filename="f.jsonl", name="roundtrip")
    except EvalSetImportError:
        return
    exported = eval_set_export(eval_set=result.eval_set).encode("utf-8")
    again = eval_set_import(data=exported, filename="g.jsonl", name="roundtrip")
    assert again.eval_set.pk == result.eval_set.pk
