"""Finding 10 of issue 14, import half: over-long responses and prompts are refused, line named, nothing stored."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from eval_sets.models import EvalSet, Prompt
from generation.models import GenerationJob, ModelSpec, Sample

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_default_limits_are_the_documented_ones(settings):
    # README and .env.example state 100000 for both; a change here must change them too.
    assert (settings.MAX_RESPONSE_CHARS, settings.MAX_PROMPT_CHARS) == (100_000, 100_000)


def test_a_response_over_the_limit_names_its_line_and_imports_nothing(eval_set_factory, tmp_path, settings):
    settings.MAX_RESPONSE_CHARS = 1000
    eval_set_factory(count=3)
    path = tmp_path / "out.jsonl"
    lines = [
        {"prompt_id": "p0", "response": "fine"},
        {"prompt_id": "p1", "response": "x" * 1000},  # exactly the limit: accepted
        {"prompt_id": "p2", "response": "y" * 1001},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(CommandError) as caught:
        run("import_outputs", "api-model", "demo", str(path))
    message = str(caught.value)
    assert "line 3" in message and "1001 characters" in message and "at most 1000" in message
    assert "MAX_RESPONSE_CHARS" in message and "nothing imported" in message
    assert not Sample.objects.exists() and not GenerationJob.objects.exists()
    assert not ModelSpec.objects.filter(name="api-model").exists()

    settings.MAX_RESPONSE_CHARS = 1001
    run("import_outputs", "api-model", "demo", str(path))
    assert Sample.objects.count() == 3


def test_a_megabyte_alpacaeval_output_is_refused_by_default(eval_set_factory, tmp_path):
    eval_set = eval_set_factory(count=2)
    texts = list(eval_set.prompts.order_by("position").values_list("text", flat=True))
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps([{"instruction": texts[0], "output": "z" * 1_000_000}]))
    with pytest.raises(CommandError, match=r"record 1: the response is 1000000 characters long"):
        run("import_outputs", "gpt", "demo", str(path))
    assert not Sample.objects.exists()


@pytest.mark.parametrize(
    ("suffix", "body", "where", "field"),
    [
        (
            "jsonl",
            '{"id": "a", "category": "c", "setting": "zero_shot", "prompt": "short"}\n'
            '{"id": "b", "category": "c", "setting": "zero_shot", "prompt": "' + "p" * 501 + '"}\n',
            "line 2",
            "'prompt'",
        ),
        ("csv", "id,prompt\na,short\nb," + "q" * 501 + "\n", "line 3", "'prompt'"),
    ],
)
def test_an_eval_set_prompt_over_the_limit_names_its_line_and_imports_nothing(
    tmp_path, settings, suffix, body, where, field
):
    settings.MAX_PROMPT_CHARS = 500
    path = tmp_path / f"long.{suffix}"
    path.write_text(body)
    with pytest.raises(CommandError) as caught:
        run("import_eval_set", str(path))
    message = str(caught.value)
    assert where in message and field in message, message
    assert "501 characters long" in message and "at most 500 (MAX_PROMPT_CHARS)" in message
    assert not EvalSet.objects.exists() and not Prompt.objects.exists()

    settings.MAX_PROMPT_CHARS = 501
    run("import_eval_set", str(path))
    assert Prompt.objects.count() == 2


def test_the_upload_page_refuses_an_over_long_prompt_the_same_way(researcher_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MAX_PROMPT_CHARS = 50
    data = b'{"id": "a", "category": "c", "setting": "zero_shot", "prompt": "' + b"w" * 51 + b'"}\n'
    response = researcher_client.post(
        "/eval-sets/upload/", {"file": SimpleUploadedFile("long.jsonl", data), "format": "auto"}
    )
    assert "51 characters long" in response.content.decode()
    assert not EvalSet.objects.exists()
