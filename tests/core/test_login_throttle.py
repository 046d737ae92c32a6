"""Finding 2 of issue 14: wrong passwords lock the account and the address out, on every login form."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.users import user_create

PASSWORD = "correct-horse-battery"
LIMIT = 3


@pytest.fixture(autouse=True)
def _throttle(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT


def _post(path: str, username: str, password: str, ip: str = "10.0.0.1", **extra: Any):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def _assert_locked_out(response) -> None:
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert f"after {LIMIT} failed" in page and "Try again in 15 minutes" in page
    assert "_auth_user_id" not in response.client.session


@pytest.mark.django_db
def test_the_right_password_works_before_any_failure():
    user_create(username="rhea", role="rater", password=PASSWORD)
    assert _logged_in(_post("/accounts/login/", "rhea", PASSWORD))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["rater", "researcher"])
def test_an_account_is_locked_after_failures_from_many_addresses(role):
    user_create(username="rhea", role=role, password=PASSWORD)
    for attempt in range(LIMIT - 1):
        response = _post("/accounts/login/", "rhea", "wrong-guess", ip=f"10.0.1.{attempt}")
        assert response.status_code == 200  # the form again, "did not match"
    # The failure that reaches the limit is answered with the lockout page itself.
    _assert_locked_out(_post("/accounts/login/", "rhea", "wrong-guess", ip="10.0.1.200"))
    # Each address failed once only: the account's own count is what locks it.
    _assert_locked_out(_post("/accounts/login/", "rhea", PASSWORD, ip="10.0.2.99"))


@pytest.mark.django_db
def test_an_address_is_locked_after_failures_on_many_accounts():
    user_create(username="rhea", role="rater", password=PASSWORD)
    for attempt in range(LIMIT):
        _post("/accounts/login/", f"nobody{attempt}", "wrong-guess", ip="10.0.3.3")
    _assert_locked_out(_post("/accounts/login/", "rhea", PASSWORD, ip="10.0.3.3"))
    # The account itself was never attacked: from another address it still logs in.
    assert _logged_in(_post("/accounts/login/", "rhea", PASSWORD, ip="10.0.4.4"))


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_still_let_the_right_password_in():
    user_create(username="rhea", role="rater", password=PASSWORD)
    for _ in range(LIMIT - 1):
        _post("/accounts/login/", "rhea", "wrong-guess")
    assert _logged_in(_post("/accounts/login/", "rhea", PASSWORD))


@pytest.mark.django_db
def test_the_admin_login_is_locked_the_same_way():
    User.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    for attempt in range(LIMIT - 1):
        response = _post("/admin/login/", "boss", "wrong-guess", ip=f"10.0.5.{attempt}")
        assert (
            response.status_code == 200 and "Please enter the correct username" in response.content.decode()
        )
    _assert_locked_out(_post("/admin/login/", "boss", "wrong-guess", ip="10.0.5.200"))
    response = _post("/admin/login/", "boss", PASSWORD, ip="10.0.6.6")
    _assert_locked_out(response)
    # Failures counted on the admin form lock the site's own form too: one account, one count.
    _assert_locked_out(_post("/accounts/login/", "boss", PASSWORD, ip="10.0.6.7"))


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off(settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    user_create(username="rhea", role="rater", password=PASSWORD)
    for _ in range(LIMIT):
        _post("/accounts/login/", "rhea", "wrong-guess")
    _assert_locked_out(_post("/accounts/login/", "rhea", PASSWORD))
    # Age the stored attempts past the cool-off instead of sleeping through it.
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
        attempt.save()
    assert _logged_in(_post("/accounts/login/", "rhea", PASSWORD))


@pytest.mark.django_db
def test_behind_a_proxy_the_client_address_is_counted_not_the_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user_create(username="rhea", role="rater", password=PASSWORD)
    for attempt in range(LIMIT):
        # A forged left-most entry changes nothing: the proxy appended the real address.
        _post(
            "/accounts/login/",
            f"nobody{attempt}",
            "x",
            ip="172.17.0.1",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}, 203.0.113.9",
        )
    _assert_locked_out(
        _post("/accounts/login/", "rhea", PASSWORD, ip="172.17.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    )
    # Another client through the same proxy is not locked out with it.
    assert _logged_in(
        _post("/accounts/login/", "rhea", PASSWORD, ip="172.17.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    )
