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
def test_healthz_answers_503_naming_the_broker_and_logs_why_but_tells_the_caller_nothing_more(
    settings, caplog
):
    # Port 9 (discard) has no listener on loopback: the connection is refused.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    with caplog.at_level("ERROR", logger="core.views"):
        response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body == {"status": "unavailable", "database": {"ok": True}, "broker": {"ok": False}}
    assert "127.0.0.1" not in response.content.decode() and "Error" not in response.content.decode()
    assert any("broker" in r.getMessage() and "Error" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_healthz_answers_503_when_the_filesystem_broker_folder_is_gone(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}
    assert Client().get("/healthz").status_code == 503
