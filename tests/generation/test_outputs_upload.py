"""Uploading outputs made elsewhere from the web: the `import_outputs` service, all or nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generation.models import GenerationJob, ModelSpec, Sample
from generation.outputs_import import outputs_import

pytestmark = pytest.mark.django_db

URL = reverse("generation:outputs_upload")


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _upload(client, eval_set, name: str, content: bytes, filename: str = "outputs.jsonl"):
    return client.post(
        URL, {"model_name": name, "eval_set": eval_set.pk, "file": SimpleUploadedFile(filename, content)}
    )


def _counts() -> tuple[int, int, int]:
    return ModelSpec.objects.count(), GenerationJob.objects.count(), Sample.objects.count()


def test_a_rater_is_refused(rater_client, eval_set_factory):
    eval_set = eval_set_factory(count=2)
    assert rater_client.get(URL).status_code == 403
    content = _jsonl([{"prompt_id": f"p{i}", "response": "x"} for i in range(2)])
    assert _upload(rater_client, eval_set, "api", content).status_code == 403
    assert _counts() == (0, 0, 0)


def test_a_jsonl_upload_registers_an_outputs_only_system(researcher_client, eval_set_factory):
    eval_set = eval_set_factory(count=5)
    content = _jsonl([{"prompt_id": f"p{i}", "response": f"answer {i}"} for i in range(5)])
    response = _upload(researcher_client, eval_set, "api-model", content)
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "generation:job_detail", kwargs={"pk": job.pk}
    )
    spec = ModelSpec.objects.get(name="api-model")
    assert spec.source == ModelSpec.Source.EXTERNAL and job.model == spec
    texts = dict(Sample.objects.filter(job=job, selected=True).values_list("prompt__uid", "text"))
    assert texts == {f"p{i}": f"answer {i}" for i in range(5)}
    # The same name again: a second upload for the same outputs-only system (the newest one counts).
    again = _jsonl([{"prompt_id": f"p{i}", "response": f"better {i}"} for i in range(5)])
    assert _upload(researcher_client, eval_set, "api-model", again).status_code == 302
    assert ModelSpec.objects.count() == 1 and GenerationJob.objects.count() == 2


def test_an_alpacaeval_list_is_matched_by_instruction_text(researcher_client, eval_set_factory):
    eval_set = eval_set_factory(count=3)
    records = [
        {"instruction": p.text, "output": f"out {p.uid}", "generator": "g"} for p in eval_set.prompts.all()
    ]
    response = _upload(
        researcher_client, eval_set, "alpaca", json.dumps(records).encode(), "model_outputs.json"
    )
    assert response.status_code == 302
    assert Sample.objects.filter(prompt__uid="p2").get().text == "out p2"


def test_a_bad_line_3_of_5_names_the_line_and_imports_nothing(researcher_client, eval_set_factory):
    eval_set = eval_set_factory(count=5)
    lines = [json.dumps({"prompt_id": f"p{i}", "response": "ok"}) for i in range(5)]
    lines[2] = '{"prompt_id": "p2", "response": '
    response = _upload(researcher_client, eval_set, "broken", ("\n".join(lines) + "\n").encode())
    body = response.content.decode()
    assert response.status_code == 200 and "Nothing was imported" in body and "line 3" in body
    assert _counts() == (0, 0, 0)


def test_a_missing_field_and_an_unknown_prompt_are_named(researcher_client, eval_set_factory):
    eval_set = eval_set_factory(count=5)
    rows = [{"prompt_id": f"p{i}", "response": "ok"} for i in range(5)]
    rows[3] = {"prompt_id": "p3", "answer": "wrong key"}
    body = _upload(researcher_client, eval_set, "m", _jsonl(rows)).content.decode()
    assert "line 4" in body and "the response must be a string" in body
    rows[3] = {"prompt_id": "nope", "response": "x"}
    body = _upload(researcher_client, eval_set, "m", _jsonl(rows)).content.decode()
    assert "not in demo v1: nope" in body
    assert _counts() == (0, 0, 0)


def test_uploads_are_bounded_in_bytes_and_in_answer_length(researcher_client, eval_set_factory, settings):
    eval_set = eval_set_factory(count=2)
    settings.MAX_RESPONSE_CHARS = 50
    rows = [{"prompt_id": "p0", "response": "x" * 51}, {"prompt_id": "p1", "response": "ok"}]
    body = _upload(researcher_client, eval_set, "long", _jsonl(rows)).content.decode()
    assert "line 1" in body and "MAX_RESPONSE_CHARS" in body
    settings.MAX_RESPONSE_CHARS = 100_000
    settings.MAX_UPLOAD_BYTES = 1024
    big = _jsonl([{"prompt_id": "p0", "response": "y" * 2000}, {"prompt_id": "p1", "response": "ok"}])
    body = _upload(researcher_client, eval_set, "big", big).content.decode()
    assert "MAX_UPLOAD_BYTES" in body
    assert _counts() == (0, 0, 0)


def test_a_name_taken_by_a_model_with_weights_is_refused(researcher_client, eval_set_factory):
    eval_set = eval_set_factory(count=2)
    ModelSpec.objects.create(name="weights", path="/models/w")
    content = _jsonl([{"prompt_id": f"p{i}", "response": "x"} for i in range(2)])
    body = _upload(researcher_client, eval_set, "weights", content).content.decode()
    assert "registered with weights" in body and GenerationJob.objects.count() == 0


def test_the_command_and_the_page_share_one_service(eval_set_factory, tmp_path):
    eval_set = eval_set_factory(count=2)
    path = tmp_path / "o.jsonl"
    path.write_bytes(_jsonl([{"prompt_id": "p0", "response": "a"}, {"prompt_id": "p1", "response": "b"}]))
    job = outputs_import(model_name="cmd", eval_set=eval_set, path=path)
    assert job.prompts_done == 2 and job.model.description == "imported from o.jsonl"


def test_the_pages_link_to_the_upload(researcher_client):
    for name in ("generation:model_list", "annotate:campaign_new"):
        assert URL in researcher_client.get(reverse(name)).content.decode()
