"""Finding 2 of issue 14 in a real browser: the lockout page a rater sees after too many wrong passwords."""

from __future__ import annotations

import pytest

from core.users import user_create
from tests.e2e.conftest import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.e2e, needs_chromium]
PASSWORD = "correct-horse-battery"


def test_the_right_password_after_too_many_wrong_ones_shows_the_lockout_page(
    logged_in_page, transactional_db, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="rhea", role="rater", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page = logged_in_page("/rate/", "rhea", "wrong-guess")
        page.wait_for_load_state()
        page.close()
    page = logged_in_page("/rate/", "rhea", PASSWORD)
    message = page.locator("#lockout-message")
    message.wait_for()
    assert f"after {settings.AXES_FAILURE_LIMIT} failed attempts" in message.inner_text()
    assert page.title().startswith("Too many failed logins") and "/accounts/login/" in page.url
    page.screenshot(path=str(ARTIFACTS / "login-lockout.png"))
