"""Personal API tokens: shown once, stored hashed, revoked or expired at once, throttled like logins."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from tests.api.conftest import TokenClient


def test_a_token_is_stored_only_as_its_hash(token) -> None:
    stored = ApiToken.objects.get()
    assert token not in (stored.digest, stored.prefix) and token.startswith(stored.prefix)


def test_a_revoked_token_stops_working_at_once(researcher_client, token) -> None:
    client = TokenClient(token)
    assert client.get("/api/v1/campaigns").status_code == 200
    researcher_client.post("/account/api/tokens/", {"revoke": ApiToken.objects.get().pk})
    assert client.get("/api/v1/campaigns").status_code == 401


def test_an_expired_token_stops_working_at_once(token) -> None:
    client = TokenClient(token)
    assert client.get("/api/v1/campaigns").status_code == 200
    ApiToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/campaigns").status_code == 401


def test_the_tokens_page_shows_a_new_token_once(researcher_client) -> None:
    page = researcher_client.post("/account/api/tokens/", {"name": "pipeline", "expires_days": "30"})
    secret = page.context["secret"]
    assert secret in page.content.decode()
    assert TokenClient(secret).get("/api/v1/models").status_code == 200
    assert secret not in researcher_client.get("/account/api/tokens/").content.decode()
    assert ApiToken.objects.get().expires is not None


@pytest.mark.django_db
def test_create_api_token_prints_a_token_for_a_researcher_and_refuses_a_rater(researcher, rater) -> None:
    out = io.StringIO()
    call_command("create_api_token", researcher.username, name="ci", expires_days=7, stdout=out)
    secret = out.getvalue().strip()
    assert TokenClient(secret).get("/api/v1/models").status_code == 200
    with pytest.raises(CommandError, match="not a researcher"):
        call_command("create_api_token", rater.username)
    assert not ApiToken.objects.filter(user=rater).exists()


def test_wrong_tokens_are_throttled_like_logins(settings, token) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    codes = [TokenClient("usk_wrong").get("/api/v1/models").status_code for _ in range(3)]
    assert codes == [401, 401, 429]  # the failure that reaches the limit is answered as a login's is
    # Locked out: even the right token is refused from this address until the cool-off ends.
    response = TokenClient(token).get("/api/v1/models")
    assert response.status_code == 429 and "too many" in response.json()["detail"]


def test_csrf_applies_to_sessions_not_to_tokens(researcher, token) -> None:
    session = Client(enforce_csrf_checks=True)
    session.force_login(researcher)
    assert session.post("/api/v1/campaigns/1/open").status_code == 403  # no CSRF token
    assert TokenClient(token, enforce_csrf_checks=True).post("/api/v1/campaigns/1/open").status_code == 404
