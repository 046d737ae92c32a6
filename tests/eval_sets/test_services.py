"""Storing versions: content hashes, version numbers, round trips, all-or-nothing imports."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from eval_sets.importers import EvalSetImportError
from eval_sets.models import EvalSet, Prompt
from eval_sets.selectors import eval_set_resolve
from eval_sets.services import eval_set_export, eval_set_import
from tests.eval_sets import samples
from tests.eval_sets.samples import jsonl

pytestmark = pytest.mark.django_db

PUBLIC = Path(settings.BASE_DIR).parent / "shared" / "evalsets-public"

ALL_SAMPLES: dict[str, tuple[bytes, str, dict[str, Any]]] = {
    "usability": (samples.USABILITY, "u.jsonl", {}),
    "vicuna": (samples.VICUNA, "v.jsonl", {}),
    "mtbench": (samples.MTBENCH, "m.jsonl", {}),
    "koala": (samples.KOALA, "k.jsonl", {}),
    "selfinstruct": (samples.SELFINSTRUCT, "s.jsonl", {}),
    "alpacaeval": (samples.ALPACAEVAL_LIST, "a.json", {}),
    "jsonl": (
        samples.GENERIC_JSONL,
        "g.jsonl",
        {"id_field": "qid", "prompt_field": "question", "category_field": "topic"},
    ),
    "csv": (samples.CSV, "c.csv", {"id_field": "key", "prompt_field": "text", "category_field": "kind"}),
}


def test_an_import_stores_every_prompt_in_file_order():
    result = eval_set_import(data=samples.USABILITY, filename="usab.jsonl", description="demo")
    assert result.created
    assert result.eval_set.name == "usab"
    assert result.eval_set.version == 1
    assert result.eval_set.source_format == "usability"
    assert result.eval_set.source_file == "usab.jsonl"
    stored = list(result.eval_set.prompts.values_list("uid", "position", "setting", "variant_of", "stop"))
    assert stored == [
        ("cr-1", 0, "zero_shot", "", []),
        ("pl-1", 1, "zero_shot", "", []),
        ("pl-1-cot", 2, "zero_shot_cot", "pl-1", []),
        ("fs-1", 3, "few_shot", "", ["\nQ:", "\n\n"]),
    ]


def test_identical_content_returns_the_stored_version():
    first = eval_set_import(data=samples.KOALA, filename="k.jsonl", name="koala")
    again = eval_set_import(data=samples.KOALA, filename="other-name.jsonl", name="koala")
    assert not again.created
    assert again.eval_set.pk == first.eval_set.pk
    assert Prompt.objects.count() == 2


def test_changed_content_under_the_same_name_becomes_the_next_version():
    first = eval_set_import(data=samples.KOALA, filename="k.jsonl", name="koala")
    changed = samples.KOALA.replace(b"three rivers", b"four rivers")
    second = eval_set_import(data=changed, filename="k.jsonl", name="koala")
    assert second.created
    assert (first.eval_set.version, second.eval_set.version) == (1, 2)
    # The older version is untouched.
    assert "three rivers" in first.eval_set.prompts.get(uid="koala_0").text
    assert eval_set_resolve(spec="koala").pk == second.eval_set.pk
    assert eval_set_resolve(spec="koala@v1").pk == first.eval_set.pk
    # Going back to the old content finds the old version rather than making a third.
    back = eval_set_import(data=samples.KOALA, filename="k.jsonl", name="koala")
    assert not back.created
    assert back.eval_set.pk == first.eval_set.pk


def test_the_same_content_under_another_name_is_a_separate_set():
    eval_set_import(data=samples.KOALA, filename="k.jsonl", name="one")
    other = eval_set_import(data=samples.KOALA, filename="k.jsonl", name="two")
    assert other.created
    assert other.eval_set.version == 1


def test_reordering_prompts_is_a_change_of_content():
    eval_set_import(data=samples.KOALA, filename="k.jsonl", name="koala")
    lines = samples.KOALA.splitlines(keepends=True)
    reordered = eval_set_import(data=b"".join(reversed(lines)), filename="k.jsonl", name="koala")
    assert reordered.created


@pytest.mark.parametrize("format_name", sorted(ALL_SAMPLES))
def test_the_exported_file_imports_back_as_the_same_version(format_name):
    data, filename, mapping = ALL_SAMPLES[format_name]
    original = eval_set_import(data=data, filename=filename, name="set", **mapping)
    assert original.format == format_name
    exported = eval_set_export(eval_set=original.eval_set)
    again = eval_set_import(data=exported.encode("utf-8"), filename="set.jsonl", name="set")
    assert again.format == "usability"
    assert not again.created
    assert again.eval_set.pk == original.eval_set.pk
    assert eval_set_export(eval_set=again.eval_set) == exported


def test_the_export_follows_the_contract_format():
    single = eval_set_import(data=samples.KOALA, filename="k.jsonl").eval_set
    result = eval_set_import(data=samples.MTBENCH, filename="m.jsonl")
    lines = [json.loads(line) for line in eval_set_export(eval_set=result.eval_set).splitlines()]
    assert list(lines[0])[:6] == ["id", "category", "setting", "prompt", "variant_of", "stop"]
    assert lines[0]["id"] == "81"
    assert lines[0]["variant_of"] is None
    assert lines[1]["turns"] == ["What is 2+2?", "And 3+3?"]
    assert "turns" not in json.loads(eval_set_export(eval_set=single).splitlines()[0])


def test_a_bad_record_anywhere_stores_nothing_at_all():
    data = samples.KOALA + jsonl({"id": "koala_2", "prompt": ""})
    with pytest.raises(EvalSetImportError):
        eval_set_import(data=data, filename="k.jsonl")
    assert EvalSet.objects.count() == 0
    assert Prompt.objects.count() == 0


def test_an_oversized_file_on_disk_is_refused_from_its_size(tmp_path, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    path = tmp_path / "big.jsonl"
    path.write_bytes(jsonl(*({"id": str(i), "prompt": "p" * 50} for i in range(40))))
    with pytest.raises(EvalSetImportError, match=r"the limit is 1,024 bytes \(MAX_UPLOAD_BYTES\)"):
        eval_set_import(path=path)
    assert EvalSet.objects.count() == 0


@pytest.mark.parametrize("name", ["", "  ", "with@at", "x" * 201, "tab\there"])
def test_unusable_set_names_are_refused(name):
    with pytest.raises(EvalSetImportError):
        eval_set_import(data=samples.KOALA, filename="k.jsonl", name=name)
    assert EvalSet.objects.count() == 0


@pytest.mark.skipif(not PUBLIC.is_dir(), reason="the public evaluation sets are not present")
@pytest.mark.parametrize(
    ("filename", "expected_format", "count"),
    [
        ("vicuna_bench_question.jsonl", "vicuna", 80),
        ("mt_bench_question.jsonl", "mtbench", 80),
        ("koala_test_set.jsonl", "koala", 180),
        ("selfinstruct_user_oriented.jsonl", "selfinstruct", 252),
    ],
)
def test_the_real_public_files_import_and_round_trip(filename, expected_format, count):
    started = time.perf_counter()
    result = eval_set_import(path=PUBLIC / filename)
    elapsed = time.perf_counter() - started
    assert (result.format, result.prompt_count, result.eval_set.prompts.count()) == (
        expected_format,
        count,
        count,
    )
    # bulk_create keeps even the largest file well under a second on two cores.
    assert elapsed < 3.0
    exported = eval_set_export(eval_set=result.eval_set).encode("utf-8")
    again = eval_set_import(data=exported, filename="x.jsonl", name=result.eval_set.name)
    assert again.eval_set.pk == result.eval_set.pk


def test_the_bundled_usability_set_imports_with_its_composition():
    path = Path(settings.BASE_DIR) / "eval_sets" / "data" / "usability-190.jsonl"
    result = eval_set_import(path=path)
    assert (result.eval_set.name, result.format, result.prompt_count) == ("usability-190", "usability", 190)
    settings_count = dict(
        (setting, result.eval_set.prompts.filter(setting=setting).count())
        for setting in ("zero_shot", "zero_shot_cot", "few_shot")
    )
    assert settings_count == {"zero_shot": 100, "zero_shot_cot": 60, "few_shot": 30}
    exported = eval_set_export(eval_set=result.eval_set).encode("utf-8")
    assert not eval_set_import(data=exported, filename="u.jsonl", name="usability-190").created
