"""Login is required everywhere but the public pages; raters never reach researcher pages."""

import pytest
from django.test import Client

from hub.demo_accounts import demo_accounts_ensure
from tests.core.url_walk import walk
from tests.factories import PASSWORD

# Public pages and the statuses they answer for the walk's sample arguments. The invite and the crowd
# entry URL are opened by people without an account: a forged token gets the view's own problem page
# (404 unknown invite, 400 bad entry link), never the login redirect.
PUBLIC = {
    "login": (200, 503),
    "healthz": (200, 503),
    "recruiting:invite": (404,),
    "recruiting:external": (400,),
}
# Pages a rater may open: their queue, the rating page and its JSON calls, and the account basics.
RATER_ALLOWED = {
    "home",
    "login",
    "logout",
    "healthz",
    "annotate:queue",
    "annotate:rate",
    "annotate:api_next",
    "annotate:api_submit",
    "annotate:api_undo",
    "annotate:api_skip",
    # The public way in, and the rater's own recruiting steps (a rater not enrolled in the sample
    # campaign gets 404 there; tests/annotate covers the enrolled path).
    "recruiting:invite",
    "recruiting:external",
    "recruiting:step",
    "recruiting:consent",
    "recruiting:practice",
    "recruiting:feedback",
    "recruiting:review",
    "recruiting:finish",
}


def routes():
    # The HTTP API answers 401/403 as JSON, not the login redirect: tests/api/test_schema_walk.py
    # walks every one of its operations with no token and with a rater's.
    return sorted(r for r in set(walk()) if not r[1].startswith("/api/v1/"))


@pytest.mark.django_db
@pytest.mark.parametrize("name,path", routes())
def test_anonymous_visitors_are_sent_to_login_except_from_public_pages(name, path):
    response = Client().get(path)
    if name in PUBLIC:
        assert response.status_code in PUBLIC[name], f"{name} {path} answered {response.status_code}"
    else:
        assert response.status_code == 302, f"{name} {path} answered {response.status_code}"
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "name,path",
    [r for r in routes() if r[0] not in RATER_ALLOWED],
)
def test_a_rater_is_refused_every_researcher_page(rater_client, name, path):
    response = rater_client.get(path)
    assert response.status_code == 403, f"{name} {path} answered {response.status_code}"


@pytest.mark.django_db
def test_create_user_makes_a_rater_who_can_log_in(django_user_model):
    from django.core.management import call_command

    call_command("create_user", "una", "--role", "rater", "--password", PASSWORD)
    client = Client()
    # Through the login form: django-axes needs the request that Client.login() does not pass.
    response = client.post("/accounts/login/", {"username": "una", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/")["Location"] == "/rate/"


@pytest.mark.django_db
def test_create_user_refuses_an_existing_name_with_a_one_line_reason():
    from django.core.management import CommandError, call_command

    call_command("create_user", "una", "--role", "researcher")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "una", "--role", "rater")


@pytest.mark.django_db
def test_the_demo_accounts_log_in_with_the_printed_passwords(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    accounts, created = demo_accounts_ensure()
    assert created and set(accounts) == {"demo-researcher", "demo-rater"}
    for username, password in accounts.items():
        client = Client()
        response = client.post("/accounts/login/", {"username": username, "password": password})
        assert response.status_code == 302
    again, created_again = demo_accounts_ensure()
    assert again == accounts and not created_again
