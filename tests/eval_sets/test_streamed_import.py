"""A large evaluation-set file is imported in streamed passes (issue 31): bounded memory, all or nothing."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from eval_sets.importers import EvalSetImportError
from eval_sets.models import EvalSet, Prompt
from eval_sets.services import eval_set_import

pytestmark = pytest.mark.django_db

LINES = 20_000


def _write_set(path: Path, lines: int, bad_line: int | None = None) -> Path:
    with path.open("w") as f:
        for i in range(1, lines + 1):
            if i == bad_line:
                f.write('{"id": "broken", "prompt": \n')
                continue
            record: dict[str, object] = {
                "id": f"q{i}", "category": ("writing", "math")[i % 2], "setting": "zero_shot",
                "prompt": f"Question {i}: explain something in a few sentences, please.", "variant_of": None,
                "stop": [], "source": "generated",
            }  # fmt: skip
            f.write(json.dumps(record) + "\n")
    return path


def test_a_large_set_is_imported_whole_in_bounded_memory(tmp_path):
    path = _write_set(tmp_path / "big.jsonl", LINES)
    tracemalloc.start()
    try:
        result = eval_set_import(path=path, name="big", max_bytes=path.stat().st_size)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.prompt_count == LINES and result.created
    assert Prompt.objects.filter(eval_set=result.eval_set).count() == LINES
    last = Prompt.objects.get(eval_set=result.eval_set, uid=f"q{LINES}")
    assert last.position == LINES - 1 and last.metadata == {"source": "generated"}
    # The file is 3 MB; held as bytes, text, parsed records and prompt objects it took over 30 MB.
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_a_malformed_line_near_the_end_is_named_and_nothing_is_imported(tmp_path):
    path = _write_set(tmp_path / "big.jsonl", LINES, bad_line=LINES - 7)
    with pytest.raises(EvalSetImportError, match=rf"line {LINES - 7}: not valid JSON"):
        eval_set_import(path=path, name="big", max_bytes=path.stat().st_size)
    assert not EvalSet.objects.exists() and not Prompt.objects.exists()


def test_a_record_fault_near_the_end_is_named_and_nothing_is_imported(tmp_path):
    path = _write_set(tmp_path / "big.jsonl", 3000)
    with path.open("a") as f:
        f.write(
            json.dumps({"id": "q5", "category": "math", "setting": "zero_shot", "prompt": "Again?"}) + "\n"
        )
    with pytest.raises(
        EvalSetImportError, match=r"line 3001, field 'id': duplicate id 'q5' \(first at line 5\)"
    ):
        eval_set_import(path=path, name="big", max_bytes=path.stat().st_size)
    assert not EvalSet.objects.exists() and not Prompt.objects.exists()


def test_the_same_file_imports_as_the_same_version_with_the_hash_of_its_records(tmp_path):
    path = _write_set(tmp_path / "set.jsonl", 500)
    first = eval_set_import(path=path, name="same", max_bytes=path.stat().st_size)
    again = eval_set_import(data=path.read_bytes(), filename="set.jsonl", name="same")
    assert again.eval_set == first.eval_set and not again.created
