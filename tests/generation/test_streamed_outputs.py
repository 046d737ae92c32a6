"""A large outputs file is imported in streamed passes (issue 31): bounded memory, all or nothing."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from eval_sets.models import EvalSet, Prompt
from generation.errors import GenerationError
from generation.models import GenerationJob, ModelSpec, Sample
from generation.outputs_import import outputs_import

pytestmark = pytest.mark.django_db

LINES = 20_000


def _big_set(n: int) -> EvalSet:
    eval_set = EvalSet.objects.create(name="big", version=1, content_hash="big", source_format="jsonl")
    Prompt.objects.bulk_create(
        (
            Prompt(eval_set=eval_set, uid=f"q{i}", position=i, category="writing", text=f"Question {i}?")
            for i in range(n)
        ),
        batch_size=2000,
    )
    return eval_set


def _write_outputs(path: Path, n: int, bad: dict[int, str] | None = None) -> Path:
    with path.open("w") as f:
        for i in range(n):
            line = (bad or {}).get(i + 1)
            body = {"prompt_id": f"q{i}", "response": f"An answer to question {i}, in a few words."}
            f.write((line if line is not None else json.dumps(body)) + "\n")
    return path


def test_a_large_outputs_file_is_imported_whole_in_bounded_memory(tmp_path):
    eval_set = _big_set(LINES)
    path = _write_outputs(tmp_path / "answers.jsonl", LINES)
    tracemalloc.start()
    try:
        job = outputs_import(model_name="api-model", eval_set=eval_set, path=path)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job.prompts_total == LINES and job.samples.filter(selected=True).count() == LINES
    assert Sample.objects.get(job=job, prompt__uid="q17").text == "An answer to question 17, in a few words."
    # The set's ids are kept (a few MB); the file, its records and the samples are not held whole (52 MB before).
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"prompt_id": "q1", "response": ', rf"line {LINES - 3}: not valid JSON"),
        ('{"prompt_id": "nope", "response": "x"}', r"1 prompt\(s\) not in .*: nope; nothing imported"),
        ('{"prompt_id": "q5", "response": "again"}', r"prompt q5 appears more than once; nothing imported"),
        ('{"prompt_id": "q9", "response": 3}', rf"line {LINES - 3}: the response must be a string"),
    ],
)
def test_a_bad_line_near_the_end_is_named_and_nothing_is_imported(tmp_path, bad, message):
    eval_set = _big_set(LINES)
    path = _write_outputs(tmp_path / "answers.jsonl", LINES, bad={LINES - 3: bad})
    with pytest.raises(GenerationError, match=message):
        outputs_import(model_name="api-model", eval_set=eval_set, path=path)
    assert not ModelSpec.objects.filter(name="api-model").exists()
    assert not GenerationJob.objects.exists() and not Sample.objects.exists()


def test_a_line_that_is_not_json_is_named_before_a_malformed_record_earlier_in_the_file(tmp_path):
    eval_set = _big_set(50)
    path = _write_outputs(tmp_path / "answers.jsonl", 50, bad={3: '{"prompt_id": "q2"}', 40: "{oops"})
    with pytest.raises(GenerationError, match=r"line 40: not valid JSON"):
        outputs_import(model_name="api-model", eval_set=eval_set, path=path)
