"""Recruiting under attack and under load: races end in a message, crowd names are reserved, the practice
round that qualifies leaks no answer key, and the sign-up page says its rules."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from annotate.models import Campaign
from annotate.recruiting import links, steps
from annotate.recruiting_models import Enrollment, ExternalRater, Invite, PracticeAnswer
from core import users
from core.users import UserInputError, user_create

GOOD_PASSWORD = "a-long-enough-passphrase-42"


def _crowd(campaign: Campaign, **settings: Any) -> Campaign:
    recruiting = steps.recruiting_of(campaign)
    recruiting.accept_external = True
    for key, value in settings.items():
        setattr(recruiting, key, value)
    recruiting.save()
    return campaign


def _practice(campaign: Campaign, n: int) -> None:
    lines = [
        json.dumps(
            {"prompt": f"P{i}", "text_a": "good", "text_b": "bad", "answer": "a", "explanation": f"why {i}"}
        )
        for i in range(n)
    ]
    steps.practice_upload(campaign=campaign, data="\n".join(lines).encode(), seed=2)


def _at_once(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run `work(i)` in n threads released together; their results and their unexpected errors."""
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait()
            got = work(i)
            with lock:
                results.append(got)
        except BaseException as exc:  # every error is a finding here
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


# --- a logged-in researcher and an invite (25.12) ------------------------------------------------------


@pytest.mark.django_db
def test_a_logged_in_researcher_opening_an_invite_gets_a_message_not_a_500(
    campaign_factory, researcher_client
):
    invite = links.invite_create(campaign=campaign_factory(name="inv-r"))
    url = reverse("recruiting:invite", args=[invite.token])
    assert researcher_client.get(url).status_code == 200
    joined = researcher_client.post(url)
    assert joined.status_code == 200 and "not a rater account" in joined.content.decode()
    assert Enrollment.objects.count() == 0


# --- crowd usernames are reserved (25.13) -----------------------------------------------------------------


@pytest.mark.django_db
def test_an_invite_signup_cannot_take_a_crowd_participants_username(campaign_factory):
    campaign = _crowd(campaign_factory(name="crowd-names"))
    invite = links.invite_create(campaign=campaign)
    username = f"ext{campaign.pk}-pid42"
    page = Client().post(
        reverse("recruiting:invite", args=[invite.token]),
        {"username": username.upper(), "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert page.status_code == 200 and "kept for crowd-platform participants" in page.content.decode()
    assert not User.objects.filter(username__iexact=username).exists()
    with pytest.raises(UserInputError):
        user_create(username=username, role="rater", password=GOOD_PASSWORD)
    query = urlencode({"PROLIFIC_PID": "pid42"})
    entry = reverse("recruiting:external", args=[steps.recruiting_of(campaign).entry_token])
    assert Client().post(f"{entry}?{query}").status_code == 302  # the participant is not blocked


# --- races, the deterministic path (SQLite and PostgreSQL) ------------------------------------------------


@pytest.mark.django_db
def test_a_signup_losing_the_race_for_its_username_gets_a_message(campaign_factory, monkeypatch):
    invite = links.invite_create(campaign=campaign_factory(name="race-name"))
    user_create(username="samename", role="rater", password=GOOD_PASSWORD)
    # As if the other sign-up committed between this one's check and its insert.
    monkeypatch.setattr(users, "username_taken", lambda username: False)
    page = Client().post(
        reverse("recruiting:invite", args=[invite.token]),
        {"username": "samename", "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert page.status_code == 200 and "already exists" in page.content.decode()
    assert User.objects.filter(username="samename").count() == 1 and Enrollment.objects.count() == 0


@pytest.mark.django_db
def test_one_participant_id_entering_twice_at_once_ends_as_one_rater(campaign_factory, monkeypatch):
    campaign = _crowd(campaign_factory(name="race-pid"))
    token = steps.recruiting_of(campaign).entry_token
    first = links.external_enter(entry_token=token, query={"PROLIFIC_PID": "twice"})
    real_bound = links._bound_rater
    calls: list[int] = []

    def racing(**kw: Any) -> ExternalRater | None:
        calls.append(1)  # the second request checked before the first committed
        return None if len(calls) == 1 else real_bound(**kw)

    monkeypatch.setattr(links, "_bound_rater", racing)
    monkeypatch.setattr(users, "username_taken", lambda username: False)
    entry = reverse("recruiting:external", args=[token])
    response = Client().post(f"{entry}?PROLIFIC_PID=twice")
    assert response.status_code == 302
    assert ExternalRater.objects.get().pk == first.pk and Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_practice_answers_sent_at_once_store_the_first(campaign_factory, make_rater, monkeypatch):
    campaign = campaign_factory(name="race-practice")
    _crowd(campaign, practice_items=1)
    _practice(campaign, 1)
    rater = make_rater("quick")
    links.invite_accept(token=links.invite_create(campaign=campaign).token, user=rater)
    item = steps.practice_next(campaign=campaign, rater=rater)
    assert item is not None
    stored = steps.practice_answer(campaign=campaign, rater=rater, item_id=item.pk, side="left")
    monkeypatch.setattr(steps, "_answer_of", lambda item, rater: None)  # the check raced
    again = steps.practice_answer(campaign=campaign, rater=rater, item_id=item.pk, side="right")
    assert again.pk == stored.pk and again.side == "left" and PracticeAnswer.objects.count() == 1


# --- races, real threads on PostgreSQL --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_recruiting_races_on_postgresql_end_in_messages_and_consistent_data(transactional_db):
    from tests.factories import make_campaign

    campaign = _crowd(make_campaign(name="pg-races", n_prompts=4), practice_items=1)
    _practice(campaign, 1)
    invite = links.invite_create(campaign=campaign, max_uses=1)

    def signup(i: int) -> str:
        try:
            links.invite_signup(token=invite.token, username=f"racer{i % 2}", password=GOOD_PASSWORD)
        except links.LinkError as exc:
            return str(exc)
        return "joined"

    # Four sign-ups (two per username) for one invite's last use: one joins, three get a message.
    results, errors = _at_once(4, signup)
    assert errors == [] and results.count("joined") == 1
    assert Invite.objects.get().uses == 1 and Enrollment.objects.count() == 1 and User.objects.count() == 1

    token = steps.recruiting_of(campaign).entry_token
    results, errors = _at_once(
        4, lambda i: links.external_enter(entry_token=token, query={"PROLIFIC_PID": "same"}).pk
    )
    assert errors == [] and len(set(results)) == 1 and ExternalRater.objects.count() == 1

    rater = ExternalRater.objects.get().user
    item = steps.practice_next(campaign=campaign, rater=rater)
    assert item is not None
    sides = ["left", "right", "tie", "both_bad"]
    results, errors = _at_once(
        4, lambda i: steps.practice_answer(campaign=campaign, rater=rater, item_id=item.pk, side=sides[i]).pk
    )
    assert errors == [] and len(set(results)) == 1 and PracticeAnswer.objects.count() == 1


# --- the qualification round leaks no answer key (25.11) -------------------------------------------------


@pytest.mark.django_db
def test_a_qualification_round_shows_no_answer_before_it_is_scored(campaign_factory):
    campaign = _crowd(campaign_factory(name="key"), practice_items=2, qualification_percent=100)
    _practice(campaign, 2)
    entry = reverse("recruiting:external", args=[steps.recruiting_of(campaign).entry_token])

    def answer_all(pid: str, correct: bool) -> Client:
        client = Client()
        client.get(client.post(f"{entry}?PROLIFIC_PID={pid}")["Location"])
        rater = ExternalRater.objects.get(external_id=pid).user
        practice = reverse("recruiting:practice", args=[campaign.pk])
        for _ in range(2):
            page = client.get(practice)
            assert 'id="expected"' not in page.content.decode() and "why 0" not in page.content.decode()
            item = page.context["item"]
            good = "left" if item.text_on_left == "a" else "right"
            bad = "right" if good == "left" else "left"
            sent = client.post(practice, {"item": item.pk, "side": good if correct else bad})
            assert "/practice/" + str(item.pk) not in sent["Location"]  # no per-item feedback page
            # Nor can the feedback page be opened by hand.
            peek = client.get(reverse("recruiting:feedback", args=[campaign.pk, item.pk]))
            assert peek.status_code == 302 and "why" not in peek.content.decode()
        assert PracticeAnswer.objects.filter(rater=rater).count() == 2
        return client

    throwaway = answer_all("throwaway", correct=False)
    out = throwaway.get(reverse("recruiting:review", args=[campaign.pk]), follow=True).content.decode()
    assert "did not qualify" in out and "why 0" not in out and "Left is better" not in out
    admitted = answer_all("real", correct=True)
    review = admitted.get(reverse("recruiting:review", args=[campaign.pk])).content.decode()
    assert "You qualified" in review and "why 0" in review and "why 1" in review


@pytest.mark.django_db
def test_practice_without_a_threshold_still_teaches_item_by_item(campaign_factory, make_rater):
    campaign = _crowd(campaign_factory(name="teach"), practice_items=1)
    _practice(campaign, 1)
    rater = make_rater("learner")
    links.invite_accept(token=links.invite_create(campaign=campaign).token, user=rater)
    client = Client()
    client.force_login(rater)
    practice = reverse("recruiting:practice", args=[campaign.pk])
    item = client.get(practice).context["item"]
    sent = client.post(practice, {"item": item.pk, "side": "tie"})
    assert "why 0" in client.get(sent["Location"]).content.decode()


# --- the pages say their rules and take their keys (26) ---------------------------------------------------


@pytest.mark.django_db
def test_the_sign_up_page_shows_the_password_rules(campaign_factory):
    invite = links.invite_create(campaign=campaign_factory(name="rules"))
    page = Client().get(reverse("recruiting:invite", args=[invite.token])).content.decode()
    assert "Your password must contain at least" in page and "ASCII letters" in page


@pytest.mark.django_db
def test_the_practice_page_loads_the_key_script_and_shows_the_keys(campaign_factory, make_rater):
    campaign = _crowd(campaign_factory(name="keys"), practice_items=1)
    _practice(campaign, 1)
    rater = make_rater("keys")
    links.invite_accept(token=links.invite_create(campaign=campaign).token, user=rater)
    client = Client()
    client.force_login(rater)
    page = client.get(reverse("recruiting:practice", args=[campaign.pk])).content.decode()
    assert "annotate/practice.js" in page and "<kbd>1</kbd> Left is better" in page
