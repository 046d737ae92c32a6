"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from annotate.models import Campaign
from core.users import user_create
from tests.factories import PASSWORD, make_campaign


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


@pytest.fixture
def make_rater(db) -> Callable[[str], User]:
    def make(username: str) -> User:
        return user_create(username=username, role="rater", password=PASSWORD)

    return make


@pytest.fixture
def campaign_factory(db) -> Callable[..., Campaign]:
    """``tests.factories.make_campaign``, for tests that take the database as a fixture."""
    return make_campaign


@pytest.fixture
def settle_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued tasks run at once, in the caller's thread (Celery's eager mode).

    The rating services queue settling after their transaction commits (annotate.settle_queue); with
    this and ``transactional_db`` (on_commit runs only after a real commit) it has run when the request
    returns, as it would soon after on a worker.
    """
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.fixture(autouse=True)
def _no_settling_task_in_the_shared_broker(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A test whose commits ask for settling (live server, transactional tests) must not leave a task
    # in the broker folder that the next `make demo` worker would run; `settle_eagerly` runs it instead.
    # Likewise the campaign page's summary refreshes (hub.tasks).
    if "settle_eagerly" not in request.fixturenames:
        from annotate.tasks import campaign_settle_task
        from hub.tasks import campaign_summary_task

        monkeypatch.setattr(campaign_settle_task, "delay", lambda *args, **kwargs: None)
        monkeypatch.setattr(campaign_summary_task, "delay", lambda *args, **kwargs: None)


@pytest.fixture(autouse=True)
def _hooks_read_afresh() -> None:
    # Each process keeps the active hooks' events for a moment (api.webhooks.hooks_want); each test
    # has its own database, so it starts without another test's.
    from api.webhooks import hooks_changed

    hooks_changed()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    # Real hashing costs most of a second per user on this machine; no test here is about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
