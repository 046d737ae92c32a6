import pytest
from django.test import Client


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login_from_home():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_researcher_home_goes_to_dashboard(researcher_client):
    response = researcher_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_rater_home_goes_to_rating_queue(rater_client):
    response = rater_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/rate/"


def test_rater_cannot_open_the_dashboard(rater_client):
    assert rater_client.get("/dashboard/").status_code == 403
