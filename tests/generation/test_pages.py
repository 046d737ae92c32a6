"""Researcher pages of the generation app."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from core.models import JobStatus
from eval_sets.models import EvalSet
from generation.models import GenerationJob, ModelSpec, Sample
from generation.outputs_import import outputs_import
from generation.params import GenerationParams
from generation.runner import generation_job_run
from generation.services import generation_job_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_job(causal_dir, eval_set_factory) -> GenerationJob:
    eval_set_factory(count=2)
    spec = ModelSpec.objects.create(name="tiny", path=str(causal_dir), kind="causal")
    job = generation_job_create(
        model=spec,
        eval_set="demo",
        params=GenerationParams(samples_per_prompt=3, max_new_tokens=5),
        enqueue=False,
    )
    return generation_job_run(job_id=job.pk)


def test_raters_cannot_see_the_generation_pages(rater_client):
    for name in ("generation:model_list", "generation:job_list", "generation:job_create"):
        assert rater_client.get(reverse(name)).status_code == 403


def test_the_model_page_lists_models_and_registers_a_new_one(researcher_client, causal_dir):
    response = researcher_client.post(
        reverse("generation:model_list"),
        {"name": "mine", "path": str(causal_dir), "kind": "", "dtype": "auto"},
    )
    assert response.status_code == 302
    assert ModelSpec.objects.get(name="mine").kind == "causal"
    page = researcher_client.get(reverse("generation:model_list")).content.decode()
    assert "mine" in page and str(causal_dir) in page


def test_registering_a_missing_directory_shows_the_reason_on_the_form(researcher_client, tmp_path):
    response = researcher_client.post(
        reverse("generation:model_list"), {"name": "x", "path": str(tmp_path / "none"), "dtype": "auto"}
    )
    assert response.status_code == 200
    assert "does not exist" in response.content.decode()
    assert not ModelSpec.objects.exists()


def test_the_queue_form_creates_a_job_and_refuses_a_zero_temperature(
    researcher_client, causal_dir, eval_set_factory, django_capture_on_commit_callbacks, monkeypatch
):
    from generation import tasks

    monkeypatch.setattr(tasks.generation_job_run_task, "delay", lambda job_id: None)
    eval_set = eval_set_factory(count=2)
    spec = ModelSpec.objects.create(name="tiny", path=str(causal_dir), kind="causal")
    form = {
        "model": spec.pk,
        "eval_set": eval_set.pk,
        "samples_per_prompt": 5,
        "temperature": 0,
        "top_p": 1.0,
        "top_k": 0,
        "max_new_tokens": 16,
        "seed": 0,
        "selection_policy": "paper",
    }
    response = researcher_client.post(reverse("generation:job_create"), form)
    assert response.status_code == 200
    assert "temperature must be greater than 0" in response.content.decode()
    form["temperature"] = 0.7
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(reverse("generation:job_create"), form)
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "generation:job_detail", args=[job.pk]
    )
    assert job.created_by is not None


def test_the_job_list_shows_progress_and_polls_the_status_endpoint(researcher_client, finished_job):
    page = researcher_client.get(reverse("generation:job_list")).content.decode()
    assert reverse("generation:job_status", args=[finished_job.pk]) in page
    assert "2 / 2" in page
    assert "generation/progress.js" in page
    status = researcher_client.get(reverse("generation:job_status", args=[finished_job.pk])).json()
    assert status["status"] == JobStatus.DONE and status["prompts_done"] == 2 and status["prompts_total"] == 2


def test_the_job_page_shows_every_sample_its_score_the_threshold_and_the_decision(
    researcher_client, finished_job
):
    page = researcher_client.get(reverse("generation:job_detail", args=[finished_job.pk])).content.decode()
    assert page.count('class="badge done">chosen<') == 2
    assert "Threshold (median / 2)" in page
    for sample in Sample.objects.filter(job=finished_job):
        assert f"{sample.logprob_sum:.3f}" in page
    assert reverse("plotly_js") in page
    assert "data-plot-figure" in page and "core/plots.js" in page  # the histograms, drawn from JSON
    assert "cdn" not in page.lower()


def test_the_job_page_shows_the_threshold_stored_with_the_samples(researcher_client, finished_job):
    prompt = finished_job.eval_set.prompts.order_by("position").first()
    Sample.objects.filter(job=finished_job, prompt=prompt).update(threshold=-123.4567)
    page = researcher_client.get(reverse("generation:job_detail", args=[finished_job.pk])).content.decode()
    assert "-123.457" in page


def test_model_text_is_escaped_on_the_job_page(researcher_client, eval_set_factory, tmp_path):
    eval_set_factory(count=1)
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps({"prompt_id": "p0", "response": "<script>alert(1)</script>"}))
    job = outputs_import(model_name="api", eval_set=EvalSet.objects.get(), path=path)
    page = researcher_client.get(reverse("generation:job_detail", args=[job.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_export_download_is_the_jsonl_of_the_command(researcher_client, finished_job):
    response = researcher_client.get(reverse("generation:job_export", args=[finished_job.pk]) + "?tokens=1")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(rows) == 6 and "token_ids" in rows[0]


def test_plotly_is_served_from_the_installed_package(researcher_client):
    response = researcher_client.get(reverse("plotly_js"))
    assert response.status_code == 200
    assert b"plotly" in response.content[:2000].lower()


def test_cancel_and_retry_buttons_post_to_the_services(researcher_client, causal_dir, eval_set_factory):
    eval_set_factory(count=1)
    spec = ModelSpec.objects.create(name="tiny", path=str(causal_dir), kind="causal")
    job = generation_job_create(model=spec, eval_set="demo", enqueue=False)
    researcher_client.post(reverse("generation:job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    researcher_client.post(reverse("generation:job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
