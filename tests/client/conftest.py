"""The client package (client/, its own pyproject.toml) against a live server.

`make install` installs it (`pip install --no-deps -e ./client`); from a bare checkout it is found
on sys.path here, so these tests never depend on how it was installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "client"
if str(CLIENT) not in sys.path:
    sys.path.insert(0, str(CLIENT))


@pytest.fixture
def live_token(transactional_db, researcher) -> str:
    from api.tokens import api_token_create

    return api_token_create(user=researcher, name="client tests").secret
