from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest


@pytest.fixture(autouse=True)
def _no_real_enqueue() -> Iterator[None]:
    # A test that forgets to mock must not drop a real task into the shared broker folder.
    with mock.patch("finetune.tasks.finetune_run.delay"):
        yield
