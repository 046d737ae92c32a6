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


@pytest.mark.django_db
def test_a_requests_user_comes_with_their_roles_so_checking_them_costs_no_query(django_assert_num_queries):
    from core.backends import RoleBackend
    from core.roles import is_rater, is_researcher
    from core.users import user_create

    rater = user_create(username="roles-r", role="rater", password="correct-horse-battery")
    with django_assert_num_queries(1):
        loaded = RoleBackend().get_user(rater.pk)
        assert is_rater(loaded) and not is_researcher(loaded)


@pytest.mark.django_db
def test_a_rater_taken_out_of_the_raters_group_is_refused_on_the_next_request():
    from django.contrib.auth.models import Group

    from core.roles import RATERS
    from core.users import user_create

    rater = user_create(username="roles-out", role="rater", password="correct-horse-battery")
    client = Client()
    client.force_login(rater)
    assert client.get("/rate/").status_code == 200
    Group.objects.get(name=RATERS).user_set.remove(rater)
    assert client.get("/rate/").status_code == 403


@pytest.mark.django_db
def test_an_inactive_user_is_not_loaded():
    from core.backends import RoleBackend
    from core.users import user_create

    rater = user_create(username="roles-off", role="rater", password="correct-horse-battery")
    rater.is_active = False
    rater.save()
    assert RoleBackend().get_user(rater.pk) is None


@pytest.mark.django_db
def test_a_session_holding_no_user_id_or_one_out_of_range_loads_no_user():
    from core.backends import RoleBackend

    backend = RoleBackend()
    assert backend.get_user("not-a-number") is None
    assert backend.get_user(None) is None
    assert backend.get_user(2**70) is None
    assert backend.get_user(987654) is None
