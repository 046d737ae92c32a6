"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.users import user_create

PASSWORD = "correct-horse-battery"


@pytest.fixture
def researcher(db) -> User:
    return user_create(username="rita-researcher", role="researcher", password=PASSWORD)


@pytest.fixture
def rater(db) -> User:
    return user_create(username="ravi-rater", role="rater", password=PASSWORD)


@pytest.fixture
def researcher_client(researcher: User) -> Client:
    client = Client()
    client.force_login(researcher)
    return client


@pytest.fixture
def rater_client(rater: User) -> Client:
    client = Client()
    client.force_login(rater)
    return client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in gpu_items:
        item.add_marker(skip)
