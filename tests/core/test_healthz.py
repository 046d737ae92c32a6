import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_answers_200_without_a_login_when_database_and_broker_answer():
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True and body["broker"]["ok"] is True
    assert body["status"] == "ok"


@pytest.mark.django_db
def test_healthz_answers_503_and_says_why_when_the_broker_is_unreachable(settings):
    # Port 9 (discard) has no listener on loopback: the connection is refused.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["ok"] is False and body["broker"]["detail"]
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_answers_503_when_the_filesystem_broker_folder_is_gone(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}
    assert Client().get("/healthz").status_code == 503
