"""A researcher's token and a test client that sends it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from api.tokens import api_token_create


class TokenClient(Client):
    """A test client that sends `Authorization: Bearer <token>` with every request."""

    def __init__(self, token: str | None, **defaults: Any) -> None:
        if token is not None:
            defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        super().__init__(**defaults)


@pytest.fixture
def token(researcher: User) -> str:
    return api_token_create(user=researcher, name="tests").secret


@pytest.fixture
def api_client(token: str) -> TokenClient:
    return TokenClient(token)
