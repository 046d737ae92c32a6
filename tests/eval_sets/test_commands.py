"""import_eval_set and export_eval_set: output, exit codes, one-line reasons."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from eval_sets.models import EvalSet, Prompt
from tests.eval_sets import samples
from tests.eval_sets.samples import jsonl

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_prints_the_set_the_version_the_count_and_that_it_is_new(tmp_path):
    path = tmp_path / "koala.jsonl"
    path.write_bytes(samples.KOALA)
    output = run("import_eval_set", str(path))
    assert output.startswith("koala v1: 2 prompts (koala; new version;")
    output = run("import_eval_set", str(path))
    assert output.startswith("koala v1: 2 prompts (koala; unchanged, identical content already stored;")


def test_import_of_mtbench_says_the_questions_were_kept_as_conversations(tmp_path):
    path = tmp_path / "mt.jsonl"
    path.write_bytes(samples.MTBENCH)
    output = run("import_eval_set", str(path), "--name", "mt", "--format", "mtbench")
    assert "mt v1: 2 prompts (mtbench; new version" in output
    assert "note: 2 questions kept as conversations (every turn)" in output


def test_import_with_a_csv_mapping(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(samples.CSV)
    run(
        "import_eval_set",
        str(path),
        "--id-field",
        "key",
        "--prompt-field",
        "text",
        "--category-field",
        "kind",
        "--description",
        "a csv",
    )
    eval_set = EvalSet.objects.get(name="c")
    assert eval_set.description == "a csv"
    assert list(eval_set.prompts.values_list("uid", "category")) == [("k1", "summary"), ("k2", "translation")]


def test_import_of_a_bad_file_fails_with_a_one_line_reason_and_stores_nothing(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(samples.KOALA + jsonl({"id": "koala_0", "prompt": "again"}))
    with pytest.raises(CommandError) as caught:
        run("import_eval_set", str(path))
    message = str(caught.value)
    assert (
        message == f"nothing imported: {path}, line 3, field 'id': duplicate id 'koala_0' (first at line 1)"
    )
    assert Prompt.objects.count() == 0


def test_import_of_a_missing_file_fails(tmp_path):
    with pytest.raises(CommandError, match="cannot read the file"):
        run("import_eval_set", str(tmp_path / "nope.jsonl"))


def test_export_writes_the_contract_file_that_imports_back_unchanged(tmp_path):
    source = tmp_path / "usab.jsonl"
    source.write_bytes(samples.USABILITY)
    run("import_eval_set", str(source))
    out = tmp_path / "out.jsonl"
    message = run("export_eval_set", "usab@v1", "--out", str(out))
    assert message.strip() == f"wrote usab v1 (4 prompts) to {out}"
    assert run("export_eval_set", "usab") == out.read_text(encoding="utf-8")
    output = run("import_eval_set", str(out), "--name", "usab")
    assert output.startswith("usab v1: 4 prompts (usability; unchanged")


def test_export_of_an_unknown_set_or_version_fails():
    with pytest.raises(CommandError, match="no evaluation set named 'ghost'"):
        run("export_eval_set", "ghost")
    EvalSet.objects.create(name="real", version=1, content_hash="h", source_format="koala")
    with pytest.raises(CommandError, match="has no version 7"):
        run("export_eval_set", "real@v7")


def test_the_command_exits_non_zero_with_one_line_on_stderr(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\xff\xfe not text\n")
    env_dir = tmp_path / "var"
    completed = subprocess.run(
        [sys.executable, "manage.py", "import_eval_set", str(path)],
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        env={"VAR_DIR": str(env_dir), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert completed.returncode != 0
    assert completed.stderr.strip().splitlines() == [
        f"CommandError: nothing imported: {path}, line 1: not UTF-8 text (byte 0xff at offset 0)"
    ]
