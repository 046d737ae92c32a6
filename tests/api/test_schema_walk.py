"""Every operation of the OpenAPI schema refuses a caller without a token, and raters."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from api.models import ApiToken
from api.tokens import token_digest
from core.roles import RATERS, RESEARCHERS
from tests.api.conftest import TokenClient


def operations() -> list[tuple[str, str]]:
    from api.api import api

    schema = api.get_openapi_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method in methods:
            found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(found)


def _call(client: Client, method: str, path: str):
    return getattr(client, method)(path, content_type="application/json")


def test_the_schema_is_served_at_its_contract_address_and_lists_every_resource(db) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/eval-sets", "/api/v1/models", "/api/v1/generation-jobs", "/api/v1/finetune-jobs",
        "/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}/report", "/api/v1/campaigns/{campaign_id}/ratings",
        "/api/v1/campaigns/{campaign_id}/judge-runs", "/api/v1/campaigns/{campaign_id}/judgments",
        "/api/v1/webhooks", "/api/v1/generation-jobs/{job_id}/samples",
    ):  # fmt: skip
        assert expected in paths, expected
    assert len(operations()) >= 30


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), operations())
def test_every_operation_answers_401_without_a_token(method: str, path: str) -> None:
    response = _call(Client(), method, path)
    assert response.status_code == 401, (method, path, response.status_code)
    assert "detail" in response.json()


@pytest.mark.parametrize(("method", "path"), operations())
def test_every_operation_answers_403_to_a_rater_token_and_a_rater_session(
    rater, rater_client, method: str, path: str
) -> None:
    # A rater cannot make a token (create_api_token refuses); one made while a researcher, kept after.
    ApiToken.objects.create(user=rater, name="old", prefix="usk_x", digest=token_digest("usk_rater"))
    response = _call(TokenClient("usk_rater"), method, path)
    assert response.status_code == 403, (method, path, response.status_code)
    response = _call(rater_client, method, path)
    assert response.status_code == 403, (method, path, response.status_code)


@pytest.mark.django_db
def test_a_researcher_turned_rater_loses_the_api_at_once(researcher, token) -> None:
    assert TokenClient(token).get("/api/v1/models").status_code == 200
    researcher.groups.remove(Group.objects.get(name=RESEARCHERS))
    researcher.groups.add(Group.objects.get(name=RATERS))
    assert TokenClient(token).get("/api/v1/models").status_code == 403
