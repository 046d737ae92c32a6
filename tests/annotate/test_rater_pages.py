from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from django.test import Client

from annotate.models import Campaign, Rating
from annotate.services import campaign_create, campaign_rater_exclude, campaign_status_set
from tests.factories import login, make_eval_set, make_system, served_item

pytestmark = pytest.mark.django_db

SECRET_A = "ZephyrQuokka-7731"
SECRET_B = "MarmaladeNarwhal-4410"
PATH_A = "/secret/checkpoints/zephyr-quokka-ft"
PATH_B = "hf-org/marmalade-narwhal-base"


def post(client: Client, url: str, body: dict | None = None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")


def urls(campaign: Campaign) -> dict[str, str]:
    base = f"/rate/task/{campaign.pk}/"
    return {
        "page": base,
        "next": base + "next",
        "submit": base + "submit",
        "undo": base + "undo",
        "skip": base + "skip",
    }


@pytest.fixture
def blind_campaign(db, make_rater):
    rater = make_rater("blind-rater")
    eval_set = make_eval_set(name="blind-set", n_prompts=12)
    # The responses never mention their system, so any leak would come from the page itself.
    make_system(SECRET_A, eval_set, path=PATH_A, text=lambda p: f"First style answer for {p.uid}.")
    make_system(SECRET_B, eval_set, path=PATH_B, text=lambda p: f"Second style answer for {p.uid}.")
    campaign = campaign_create(
        name="blind-campaign", eval_set=eval_set, systems=[SECRET_A, SECRET_B], raters=[rater], overlap=0.2
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign, rater


# Item tokens and CSRF tokens are random strings that may spell "job" by chance (about one run in
# fifty did): the generic-word check reads the page with exactly those values blanked out.
RANDOM_VALUES = re.compile(r'("token": "|name="csrfmiddlewaretoken" value=")[A-Za-z0-9_-]+"')


def assert_blind(text: str, campaign: Campaign) -> None:
    lowered = text.lower()
    for secret in (SECRET_A, SECRET_B, PATH_A, PATH_B, "zephyr", "marmalade", "blind-campaign"):
        assert secret.lower() not in lowered, f"{secret!r} leaked"
    words = RANDOM_VALUES.sub(r'\1<random>"', text).lower()
    for word in ("system_a", "system_b", "sample", "job", '"choice":', '"left": "a"'):
        assert word not in words, f"{word!r} appears in a rater's page"


def test_no_page_or_json_a_rater_reaches_names_a_system_and_sides_stay_balanced(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    u = urls(campaign)
    pages = [client.get("/rate/").content.decode(), client.get(u["page"]).content.decode()]
    left_texts: Counter[bool] = Counter()
    state = post(client, u["next"]).json()
    served = 0
    while state["item"]:
        pages.append(json.dumps(state))
        item = state["item"]
        left_texts["First" in item["left_html"]] += 1
        served += 1
        side = ["left", "right", "tie", "both_bad"][served % 4]
        state = post(
            client, u["submit"], {"token": item["token"], "side": side, "seconds": 3, "next": True}
        ).json()
        pages.append(json.dumps(state))
        if served == 3:
            pages.append(json.dumps(post(client, u["undo"]).json()))
            state = post(client, u["next"]).json()
            state = post(
                client, u["submit"], {"token": state["item"]["token"], "side": "left", "next": True}
            ).json()
    pages.append(client.get("/rate/").content.decode())
    for text in pages:
        assert_blind(text, campaign)
    assert served == 12
    # What the rater saw: the first system's text on the left in half of the items, plus or minus one.
    assert abs(left_texts[True] - 6) <= 1
    comparisons = campaign.comparisons.count()
    lefts = Counter(campaign.comparisons.values_list("system_on_left", flat=True))
    assert abs(lefts["a"] - comparisons / 2) <= 1
    assert Rating.objects.filter(rater=rater).count() == 12


def test_the_item_json_has_only_the_token_and_rendered_texts(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    state = post(client, urls(campaign)["next"]).json()
    assert set(state) == {"item", "progress", "undo"}
    assert set(state["item"]) == {"token", "prompt_html", "left_html", "right_html"}
    comparison = served_item(client, state["item"]["token"])
    assert state["item"]["token"] not in (str(comparison.pk), comparison.token)


def test_a_response_with_script_raw_html_and_a_javascript_link_is_shown_as_text(db, make_rater):
    rater = make_rater("xss-rater")
    eval_set = make_eval_set(name="xss", n_prompts=1, texts=["<img src=x onerror=alert(1)> prompt"])
    evil = (
        "<script>alert('pwned')</script>\n\n<div onclick=\"steal()\">raw html</div>\n\n"
        "[click me](javascript:alert(document.cookie)) and [ok](https://example.org)\n\n"
        "```python\nprint('<b>code</b>')\n```"
    )
    make_system("evil", eval_set, text=lambda p: evil)
    make_system("plain", eval_set, text=lambda p: "plain answer")
    campaign = campaign_create(name="xss", eval_set=eval_set, systems=["evil", "plain"], raters=[rater])
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    item = post(login(rater), urls(campaign)["next"]).json()["item"]
    html = item["left_html"] + item["right_html"] + item["prompt_html"]
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<div" not in html and "&lt;div onclick" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript' not in html.lower() and "javascript:" in html  # left as text
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow"' in html
    assert "<pre><code class=\"language-python\">print('&lt;b&gt;code&lt;/b&gt;')" in html


def test_double_submission_over_http_returns_the_stored_rating(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    u = urls(campaign)
    token = post(client, u["next"]).json()["item"]["token"]
    first = post(client, u["submit"], {"token": token, "side": "left", "comment": "first"})
    second = post(client, u["submit"], {"token": token, "side": "right", "comment": "second"})
    assert first.status_code == second.status_code == 200
    assert first.json()["created"] is True and second.json()["created"] is False
    assert second.json()["rating"] == first.json()["rating"]
    assert second.json()["rating"]["side"] == "left"
    assert Rating.objects.filter(rater=rater).count() == 1


def test_the_rating_page_and_calls_need_csrf(blind_campaign):
    campaign, rater = blind_campaign
    client = Client(enforce_csrf_checks=True)
    client.force_login(rater)
    u = urls(campaign)
    assert post(client, u["next"]).status_code == 403
    page = client.get(u["page"])
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    response = client.post(u["next"], data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["item"]


def test_rating_calls_refuse_get(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    for key in ("next", "submit", "undo", "skip"):
        assert client.get(urls(campaign)[key]).status_code == 405


def test_anonymous_users_go_to_login(blind_campaign):
    campaign, _ = blind_campaign
    client = Client()
    for url in [*urls(campaign).values(), "/rate/", "/campaigns/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_rater_sees_nothing_of_research_pages_or_other_campaigns(
    blind_campaign, make_rater, campaign_factory
):
    campaign, rater = blind_campaign
    other_rater = make_rater("other")
    other = campaign_factory(name="other-camp", raters=[other_rater])
    client = login(rater)
    for url in (
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/gold/",
        "/raters/",
        "/campaigns/new/",
        "/reports/",
        "/generation/jobs/",
        "/dashboard/",
    ):
        assert client.get(url).status_code == 403, url
    # Another campaign's task, in which this rater is not: nothing there.
    assert client.get(urls(other)["page"]).status_code == 404
    assert post(client, urls(other)["next"]).status_code == 404
    assert "other-camp" not in client.get("/rate/").content.decode()
    # Nor can they submit a rating on an item served to someone else.
    token = post(login(other_rater), urls(other)["next"]).json()["item"]["token"]
    assert post(client, urls(other)["submit"], {"token": token, "side": "left"}).status_code == 404


def test_closed_campaigns_and_excluded_raters_get_no_items(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    assert "Rating task" in client.get("/rate/").content.decode()
    campaign_rater_exclude(campaign=campaign, user=rater)
    assert client.get(urls(campaign)["page"]).status_code == 404
    assert "Rating task" not in client.get("/rate/").content.decode()


def test_undo_and_skip_over_http(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    u = urls(campaign)
    assert post(client, u["undo"]).status_code == 409
    first = post(client, u["next"]).json()["item"]["token"]
    state = post(client, u["submit"], {"token": first, "side": "tie", "next": True}).json()
    assert state["progress"]["done"] == 1 and state["undo"] is True
    second = state["item"]["token"]
    undone = post(client, u["undo"]).json()
    assert undone["item"]["token"] == first and undone["progress"]["done"] == 0
    state = post(client, u["submit"], {"token": first, "side": "left", "next": True}).json()
    assert state["item"]["token"] == second  # the lease taken before the undo is still ours
    skipped = post(client, u["skip"], {"token": second}).json()
    assert skipped["item"]["token"] not in (first, second)


def test_the_queue_lists_open_campaigns_with_progress(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    page = client.get("/rate/").content.decode()
    assert f"/rate/task/{campaign.pk}/" in page and "0; 12 left" in page
    rater_page = client.get(urls(campaign)["page"]).content.decode()
    assert "Guidelines" in rater_page and "sparingly" in rater_page
    assert "annotate/rate.js" in rater_page


def test_a_resent_submit_with_next_returns_the_stored_rating_and_the_same_next_item(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    u = urls(campaign)
    token = post(client, u["next"]).json()["item"]["token"]
    body = {"token": token, "side": "right", "seconds": 2, "next": True}
    first = post(client, u["submit"], body).json()
    again = post(client, u["submit"], body).json()
    assert first["created"] is True and again["created"] is False
    assert again["rating"] == first["rating"]
    assert first["item"]["token"] != token
    assert again["item"]["token"] == first["item"]["token"]
    assert again["progress"] == first["progress"]
    assert Rating.objects.filter(rater=rater).count() == 1


def test_a_rating_with_the_next_item_costs_a_bounded_number_of_queries(
    blind_campaign, django_assert_max_num_queries
):
    # The hot path of the rating page: one request per rating. Its query count must not grow
    # with the campaign or the number of ratings (each extra query is paid on every click).
    # The one transaction's own statements (a savepoint pair inside the test's transaction; SQLite's
    # BEGIN IMMEDIATE and COMMIT outside it) are allowed on top; PostgreSQL sends them unlogged.
    campaign, rater = blind_campaign
    client = login(rater)
    u = urls(campaign)
    state = post(client, u["next"]).json()
    for _ in range(3):
        # 8 (19 before issue 12's performance work): the session is answered by the cache
        # (cached_db); 1 for the user with their roles (core.backends); 1 for the campaign with
        # the membership and exclusion checks; 2 to take the rating (lock and read the item with
        # the rater's lease and rating; the insert that stores it once); 3 to serve the next item
        # (the rater's counts and held item, the locked search that reads the item, the lease with
        # its item's counter in one chained statement); on PostgreSQL, 1 more before the counts,
        # so that they run on their generic plan (core.statements: planning them took five times
        # as long as running them).
        with django_assert_max_num_queries(10) as captured:
            state = post(
                client, u["submit"], {"token": state["item"]["token"], "side": "left", "next": True}
            ).json()
        statements = [q["sql"] for q in captured.captured_queries if not TRANSACTION_CONTROL.match(q["sql"])]
        assert len(statements) <= 8, "\n".join(statements)
        assert state["created"] is True and state["item"] is not None


# psycopg converts a statement's %s placeholders once per process only for statements up to this
# many characters (psycopg/_queries.py, MAX_CACHED_STATEMENT_LENGTH); a longer one is converted again
# at every run.
PSYCOPG_CACHED_STATEMENT_LENGTH = 4096


def test_every_statement_of_a_rating_with_the_next_item_fits_psycopgs_statement_cache(blind_campaign):
    from django.db import connection

    campaign, rater = blind_campaign
    client = login(rater)
    u = urls(campaign)
    state = post(client, u["next"]).json()
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        state = post(
            client, u["submit"], {"token": state["item"]["token"], "side": "left", "next": True}
        ).json()
    assert state["item"] is not None
    assert len(sent) >= 6  # the item, its rating, the counts, the pick and the lease were all seen
    too_long = [
        f"{len(sql)} characters: {sql[:120]}" for sql in sent if len(sql) > PSYCOPG_CACHED_STATEMENT_LENGTH
    ]
    assert not too_long, "\n".join(too_long)


def test_a_campaign_id_beyond_any_column_and_a_strange_token_are_answered_like_unknown_ones(blind_campaign):
    campaign, rater = blind_campaign
    client = login(rater)
    assert client.get(f"/rate/task/{2**64}/").status_code == 404
    assert post(client, f"/rate/task/{2**70}/next").status_code == 404
    post(client, urls(campaign)["next"])
    for token in ("x" * 500, "é\u2028'; --", ""):
        response = post(client, urls(campaign)["submit"], {"token": token, "side": "left"})
        assert response.status_code == 409 and response.json()["error"] == "unknown item"
