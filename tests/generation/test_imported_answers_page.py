"""Issue 26.4: uploaded answers are shown as imported answers, not as a generation with made-up parameters."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generation.models import GenerationJob

pytestmark = pytest.mark.django_db


def test_an_uploaded_file_is_shown_with_its_name_time_and_count_and_no_generation_parameters(
    researcher_client, eval_set_factory
):
    eval_set = eval_set_factory(count=3)
    rows = "".join(json.dumps({"prompt_id": f"p{i}", "response": f"answer {i}"}) + "\n" for i in range(3))
    researcher_client.post(
        reverse("generation:outputs_upload"),
        {
            "model_name": "api-model",
            "eval_set": eval_set.pk,
            "file": SimpleUploadedFile("gpt4-answers.jsonl", rows.encode()),
        },
    )
    job = GenerationJob.objects.get()
    assert job.is_imported and job.source_file == "gpt4-answers.jsonl"
    page = researcher_client.get(reverse("generation:job_detail", args=[job.pk])).content.decode()
    assert "Imported answers" in page and "gpt4-answers.jsonl" in page
    assert job.finished is not None and job.finished.strftime("%Y-%m-%d") in page and "answer 2" in page
    made_up_rows = (
        "Temperature · top-p",
        "· seed",
        "<th>Selection",
        "with token ids",
        "?tokens=1",
        "Threshold (median",
    )
    for made_up in (*made_up_rows, '<td class="num">—</td>'):
        assert made_up not in page, made_up
    listing = researcher_client.get(reverse("generation:job_list")).content.decode()
    assert "imported answers" in listing
