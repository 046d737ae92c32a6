"""The resources through the API: the services' rules, JSON errors naming the field, retries that do nothing twice."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Campaign
from eval_sets.models import EvalSet, Prompt
from generation.models import GenerationJob, ModelSpec
from tests.factories import make_campaign, make_eval_set, make_system, rate

GOOD = '{"id": "q1", "category": "writing", "setting": "zero_shot", "prompt": "Write a haiku."}\n'


def test_a_malformed_upload_imports_nothing_and_names_the_line(api_client) -> None:
    bad = GOOD + '{"id": "q2", "category": "writing", "setting": "zero_shot"}\n'
    upload = SimpleUploadedFile("broken.jsonl", bad.encode())
    response = api_client.post("/api/v1/eval-sets", {"file": upload, "format": "usability"})
    assert response.status_code == 400
    assert "line 2" in response.json()["detail"]
    assert EvalSet.objects.count() == 0 and Prompt.objects.count() == 0


def test_an_upload_stores_a_set_and_the_same_file_again_returns_it(api_client) -> None:
    first = api_client.post("/api/v1/eval-sets", {"file": SimpleUploadedFile("haiku.jsonl", GOOD.encode())})
    assert first.status_code == 201, first.content
    again = api_client.post("/api/v1/eval-sets", {"file": SimpleUploadedFile("haiku.jsonl", GOOD.encode())})
    assert again.json()["id"] == first.json()["id"] and again.json()["created_now"] is False
    listed = api_client.get("/api/v1/eval-sets").json()
    assert listed["count"] == 1 and listed["items"][0]["prompts"] == 1
    exported = api_client.get(f"/api/v1/eval-sets/{first.json()['id']}/export")
    assert json.loads(exported.content.decode().splitlines()[0])["prompt"] == "Write a haiku."


def test_a_parameter_out_of_range_is_refused_naming_its_field(api_client) -> None:
    eval_set = make_eval_set(name="s", n_prompts=2)
    ModelSpec.objects.create(name="m", path="/nowhere")
    body = {"model": "m", "eval_set": eval_set.name, "temperature": -1}
    response = api_client.post("/api/v1/generation-jobs", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "temperature"
    assert GenerationJob.objects.count() == 0


def test_input_of_the_wrong_type_is_refused_naming_its_field(api_client) -> None:
    response = api_client.post(
        "/api/v1/campaigns", {"name": "c", "eval_set": "s", "systems": "a"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["field"] == "systems"


def test_a_write_retried_with_the_same_idempotency_key_is_done_once(api_client) -> None:
    eval_set = make_eval_set(name="s", n_prompts=3)
    for name in ("alpha", "beta"):
        make_system(name, eval_set)
    body = {"name": "camp", "eval_set": "s", "systems": ["alpha", "beta"], "ratings_per_item": 2}
    headers = {"HTTP_IDEMPOTENCY_KEY": "build-camp-1"}
    first = api_client.post("/api/v1/campaigns", body, content_type="application/json", **headers)
    second = api_client.post("/api/v1/campaigns", body, content_type="application/json", **headers)
    assert first.status_code == 201 and second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Campaign.objects.count() == 1
    other = api_client.post(
        "/api/v1/campaigns", {**body, "name": "other"}, content_type="application/json", **headers
    )
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"


def test_a_campaign_is_opened_rated_and_reported_through_the_api(api_client, rater) -> None:
    campaign = make_campaign(name="camp", n_prompts=4, raters=[rater], open_=False)
    assert api_client.post(f"/api/v1/campaigns/{campaign.pk}/open").json()["status"] == "open"
    rate(campaign, rater, "left")
    progress = api_client.get(f"/api/v1/campaigns/{campaign.pk}/progress").json()
    assert progress["complete"] is True and progress["done"] == 4
    report = api_client.get(f"/api/v1/campaigns/{campaign.pk}/report").json()
    assert report["overall"]["n"] == 4 and {"baseline", "candidate", "by_category"} <= set(report)
    lines = b"".join(api_client.get(f"/api/v1/campaigns/{campaign.pk}/ratings").streaming_content)
    assert len(lines.decode().splitlines()) == 4
    csv_text = b"".join(
        api_client.get(f"/api/v1/campaigns/{campaign.pk}/ratings?format=csv").streaming_content
    ).decode()
    assert len(csv_text.strip().splitlines()) == 5 and csv_text.startswith("campaign,")
    invite = api_client.post(
        f"/api/v1/campaigns/{campaign.pk}/invites", {"label": "lab"}, content_type="application/json"
    )
    assert invite.status_code == 201 and "/join/" in invite.json()["url"]
    assert api_client.post(f"/api/v1/campaigns/{campaign.pk}/close").json()["status"] == "closed"


@pytest.mark.django_db
def test_registering_the_same_model_again_changes_nothing(api_client, tmp_path) -> None:
    body = {"name": "m", "path": "gpt2"}
    assert api_client.post("/api/v1/models", body, content_type="application/json").status_code == 201
    assert api_client.post("/api/v1/models", body, content_type="application/json").status_code == 200
    clash = api_client.post("/api/v1/models", {**body, "path": "other"}, content_type="application/json")
    assert clash.status_code == 400 and "m" in clash.json()["detail"]
    served = {"backend": "openai", "name": "s", "base_url": "http://10.0.0.1:8000/v1", "served_model": "x"}
    refused = api_client.post("/api/v1/models", served, content_type="application/json")
    assert refused.status_code == 400 and "SERVED_ALLOWED_HOSTS" in refused.json()["detail"]
