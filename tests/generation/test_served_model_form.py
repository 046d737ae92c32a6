"""Registering a served model (OpenAI-compatible server) from the models page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generation.models import ModelSpec

pytestmark = pytest.mark.django_db

URL = reverse("generation:model_list")


@pytest.fixture(autouse=True)
def _operator_allows(settings) -> None:
    """The operator's lists these registrations are made under (both are empty by default)."""
    settings.SERVED_ALLOWED_HOSTS = ["10.1.2.3"]
    settings.SERVED_API_KEY_VARS = ["*_SERVER_KEY"]


def _served(**extra: str) -> dict[str, str]:
    data = {
        "name": "llama-served", "backend": "openai", "base_url": "http://10.1.2.3:8000/v1/",
        "served_model": "meta-llama/Llama-3.1-8B-Instruct", "chat": "on", "api_key_env": "LLAMA_SERVER_KEY",
        "dtype": "auto",
    }  # fmt: skip
    data.update(extra)
    return data


def test_a_researcher_registers_a_served_model(researcher_client):
    response = researcher_client.post(URL, _served())
    assert response.status_code == 302
    spec = ModelSpec.objects.get(name="llama-served")
    assert spec.is_served and spec.base_url == "http://10.1.2.3:8000/v1"
    assert spec.served_model == "meta-llama/Llama-3.1-8B-Instruct" and spec.chat
    assert spec.api_key_env == "LLAMA_SERVER_KEY" and spec.path == ""
    page = researcher_client.get(URL).content.decode()
    assert "meta-llama/Llama-3.1-8B-Instruct" in page and "LLAMA_SERVER_KEY" not in page


def test_a_rater_is_refused(rater_client):
    assert rater_client.post(URL, _served()).status_code == 403
    assert not ModelSpec.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"base_url": "10.1.2.3:8000"}, "is not an http(s) URL"),
        ({"base_url": "ftp://10.1.2.3/v1"}, "is not an http(s) URL"),
        ({"base_url": "http://user:pw@10.1.2.3/v1"}, "put no credentials"),
        ({"base_url": ""}, "A served model needs this."),
        ({"served_model": ""}, "A served model needs this."),
        ({"api_key_env": "sk-live-abc123"}, "not an environment variable name"),
    ],
)
def test_bad_served_input_gets_a_clear_error_and_registers_nothing(researcher_client, extra, message):
    response = researcher_client.post(URL, _served(**extra))
    assert response.status_code == 200 and message in response.content.decode()
    assert not ModelSpec.objects.exists()


def test_the_key_itself_is_never_echoed_back(researcher_client):
    body = researcher_client.post(URL, _served(api_key_env="sk-live-abc123")).content.decode()
    assert "not an environment variable name" in body
    assert 'value="sk-live-abc123"' not in body


def test_in_process_is_the_default_and_needs_a_path(researcher_client, causal_dir):
    body = researcher_client.post(URL, {"name": "nopath", "backend": "inprocess"}).content.decode()
    assert "needs a Hugging Face id or a local directory" in body and not ModelSpec.objects.exists()
    response = researcher_client.post(URL, {"name": "local", "path": str(causal_dir), "dtype": "auto"})
    assert response.status_code == 302
    spec = ModelSpec.objects.get(name="local")
    assert not spec.is_served and spec.kind == "causal"


def test_the_other_backends_fields_are_ignored(researcher_client):
    response = researcher_client.post(URL, _served(path="/somewhere", kind="causal", chat_template="on"))
    assert response.status_code == 302
    spec = ModelSpec.objects.get()
    assert spec.is_served and spec.path == "" and spec.kind == "" and not spec.chat_template
