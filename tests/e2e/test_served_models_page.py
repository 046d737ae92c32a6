"""The models page in Chromium with a served model (vLLM endpoint) beside an in-process one.

Shows where a served model lives and never its API key (only the variable's name is stored, and
not shown). Screenshot: var/artifacts/served-models.png.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from generation.services import model_spec_register, model_spec_register_served
from tests.e2e.conftest import ARTIFACTS, needs_chromium
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_the_models_page_shows_a_served_model_by_address_and_never_its_key(
    logged_in_page, researcher, monkeypatch, settings
):
    settings.SERVED_ALLOWED_HOSTS, settings.SERVED_API_KEY_VARS = ["10.1.2.3"], ["LLAMA_KEY"]
    monkeypatch.setenv("LLAMA_KEY", "sk-live-do-not-show")
    model_spec_register(name="flan-t5-small", path="google/flan-t5-small", kind="seq2seq")
    model_spec_register_served(
        name="llama-70b-instruct",
        base_url="http://10.1.2.3:8000/v1",
        served_model="meta-llama/Llama-3.1-70B-Instruct",
        chat=True,
        api_key_env="LLAMA_KEY",
    )
    page = logged_in_page(reverse("generation:model_list"), researcher.username, PASSWORD)
    row = page.locator("tr", has_text="llama-70b-instruct")
    assert "meta-llama/Llama-3.1-70B-Instruct" in row.inner_text()
    assert "http://10.1.2.3:8000/v1" in row.inner_text() and "Served" in row.inner_text()
    assert "flan-t5-small" in page.content()
    assert "sk-live" not in page.content() and "LLAMA_KEY" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "served-models.png"), full_page=True)
