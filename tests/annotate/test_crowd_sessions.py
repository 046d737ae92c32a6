"""Crowd sessions that end: the session size, who gets the completion code, the end pages, the entry page."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotate.models import Campaign, Rating
from annotate.recruiting import sessions, steps
from annotate.recruiting_models import Enrollment, ExternalRater
from annotate.services import campaign_status_set
from tests.factories import rate

PID = "5f1a2b3c4d5e6f7a8b9c0d1e"


def _crowd(campaign_factory: Any, *, name: str = "crowd", n_prompts: int = 6, **settings: Any) -> Campaign:
    campaign = campaign_factory(name=name, n_prompts=n_prompts, min_seconds=0)
    recruiting = steps.recruiting_of(campaign)
    recruiting.accept_external = True
    recruiting.completion_code = "CODE-77"
    recruiting.completion_url = "https://app.prolific.com/submissions/complete?cc=CODE-77"
    for key, value in settings.items():
        setattr(recruiting, key, value)
    recruiting.save()
    return campaign


def _entry(campaign: Campaign, pid: str = PID, **extra: str) -> str:
    token = steps.recruiting_of(campaign).entry_token
    query = {"PROLIFIC_PID": pid, "STUDY_ID": "st1", "SESSION_ID": "se1", **extra}
    return f"{reverse('recruiting:external', args=[token])}?{urlencode(query)}"


def _enter(campaign: Campaign, pid: str = PID) -> Client:
    client = Client()
    response = client.post(_entry(campaign, pid))
    assert response.status_code == 302, response.content.decode()[:500]
    client.get(response["Location"])  # the step page admits the participant (no consent, no practice)
    return client


def _call(
    client: Client, campaign: Campaign, name: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = client.post(
        reverse(f"annotate:{name}", args=[campaign.pk]),
        json.dumps(body or {}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _rate_through_the_page(client: Client, campaign: Campaign, n: int) -> dict[str, Any]:
    state = _call(client, campaign, "api_next")
    for _ in range(n):
        assert state["item"] is not None, state
        state = _call(
            client, campaign, "api_submit", {"token": state["item"]["token"], "side": "left", "next": True}
        )
    return state


@pytest.mark.django_db
def test_a_crowd_session_ends_after_its_items_and_the_page_goes_to_the_code(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, n_prompts=10, session_items=3)
    client = _enter(campaign)
    first = _call(client, campaign, "api_next")
    assert first["progress"]["remaining"] == 3  # the session's items, not the campaign's
    state = _rate_through_the_page(client, campaign, 3)
    finish = reverse("recruiting:finish", args=[campaign.pk])
    assert state["item"] is None and state["finish_url"] == finish
    assert _call(client, campaign, "api_next")["item"] is None  # nothing more is served
    assert Rating.objects.filter(campaign=campaign).count() == 3
    page = client.get(finish)
    assert page.context["state"].kind == sessions.COMPLETED and b"CODE-77" in page.content
    assert b"Your session is complete" in page.content
    # Coming back through the crowd URL leads to the end page, not to more items.
    again = Client().post(_entry(campaign))
    assert Client().get(again["Location"]).status_code == 302


@pytest.mark.django_db
def test_a_time_boxed_session_ends_after_its_minutes(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, session_minutes=10)
    client = _enter(campaign)
    _rate_through_the_page(client, campaign, 1)
    Enrollment.objects.filter(campaign=campaign).update(admitted_at=timezone.now() - timedelta(minutes=11))
    state = _call(client, campaign, "api_next")
    assert state["item"] is None and state["finish_url"]
    assert client.get(state["finish_url"]).context["state"].kind == sessions.COMPLETED


@pytest.mark.django_db
def test_stopping_early_shows_a_return_the_study_page_with_progress_and_no_code(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, n_prompts=10, session_items=5)
    client = _enter(campaign)
    _rate_through_the_page(client, campaign, 2)
    page = client.get(reverse("recruiting:finish", args=[campaign.pk]))
    assert page.status_code == 200  # no longer a silent redirect back to rating
    text = page.content.decode()
    assert "return the study" in text and "rated 2 items; 3 left in your session" in text
    assert "CODE-77" not in text


@pytest.mark.django_db
def test_a_latecomer_to_a_full_study_gets_no_code_at_entry_or_at_the_end_page(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, n_prompts=2, consent_text="I agree.")
    early = _enter(campaign, pid="early1")
    early.post(reverse("recruiting:consent", args=[campaign.pk]), {"accept": "yes"})
    early.get(reverse("recruiting:step", args=[campaign.pk]))
    worker = ExternalRater.objects.get(external_id="early1").user
    rate(campaign, worker, "left")  # every item rated: the study is full
    users = User.objects.count()
    late = Client().get(_entry(campaign, pid="late1"))
    assert (
        late.status_code == 410 and b"This study is full" in late.content and b"CODE-77" not in late.content
    )
    assert Client().post(_entry(campaign, pid="late1")).status_code == 410 and User.objects.count() == users
    # The one who rated gets the code.
    assert early.get(reverse("recruiting:finish", args=[campaign.pk])).context["state"].code == "CODE-77"


@pytest.mark.django_db
def test_a_participant_who_entered_before_the_study_filled_up_gets_no_code_for_no_work(
    campaign_factory,
) -> None:
    campaign = _crowd(campaign_factory, n_prompts=2, consent_text="I agree.")
    idle = _enter(campaign, pid="idle1")  # waiting at the consent page
    other = _enter(campaign, pid="busy1")
    other.post(reverse("recruiting:consent", args=[campaign.pk]), {"accept": "yes"})
    other.get(reverse("recruiting:step", args=[campaign.pk]))
    rate(campaign, ExternalRater.objects.get(external_id="busy1").user, "left")
    # Before consent: the step page sends the idle one to the end page, which has no code.
    step = idle.get(reverse("recruiting:step", args=[campaign.pk]))
    assert step["Location"] == reverse("recruiting:finish", args=[campaign.pk])
    page = idle.get(step["Location"])
    assert page.context["state"].kind == sessions.FULL and b"CODE-77" not in page.content
    assert not Enrollment.objects.get(user__username__endswith="idle1").admitted_at


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["researcher", "settled"])
def test_a_campaign_closed_mid_session_still_gives_the_rater_their_code(campaign_factory, how) -> None:
    campaign = _crowd(campaign_factory, n_prompts=10, session_items=5)
    client = _enter(campaign)
    state = _rate_through_the_page(client, campaign, 2)
    if how == "researcher":
        campaign_status_set(campaign=campaign, status=Campaign.Status.CLOSED)
    else:  # stop-when-settled closes it the same way, through the status
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    # The rating calls answer 404 (the page then goes to its data-finish-url) ...
    late = client.post(
        reverse("annotate:api_submit", args=[campaign.pk]),
        json.dumps({"token": state["item"]["token"], "side": "left", "next": True}),
        content_type="application/json",
    )
    assert late.status_code == 404
    # ... and the end page, the step page and the crowd URL all reach the code.
    finish = reverse("recruiting:finish", args=[campaign.pk])
    assert client.get(reverse("recruiting:step", args=[campaign.pk]))["Location"] == finish
    assert client.get(finish).context["state"].code == "CODE-77"
    back = Client()
    assert back.get(_entry(campaign)).status_code == 200
    assert back.get(back.post(_entry(campaign))["Location"])["Location"] == finish


@pytest.mark.django_db
def test_the_rating_page_knows_where_a_recruited_rater_ends(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, session_items=2)
    client = _enter(campaign)
    page = client.get(reverse("annotate:rate", args=[campaign.pk])).content.decode()
    finish = reverse("recruiting:finish", args=[campaign.pk])
    assert f'data-finish-url="{finish}"' in page and 'id="stop-link"' in page


@pytest.mark.django_db
def test_the_screened_out_page_never_sends_to_the_completion_url(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, practice_items=1, qualification_percent=100, screened_out_code="SO-1")
    steps.practice_upload(
        campaign=campaign, data=b'{"prompt": "p", "text_a": "good", "text_b": "bad", "answer": "a"}', seed=1
    )
    client = _enter(campaign)
    item = steps.practice_next(campaign=campaign, rater=ExternalRater.objects.get().user)
    assert item is not None
    wrong = "right" if item.text_on_left == "a" else "left"
    answered = client.post(
        reverse("recruiting:practice", args=[campaign.pk]), {"item": item.pk, "side": wrong}
    )
    page = client.get(answered["Location"], follow=True)
    text = page.content.decode()
    assert page.context["state"].kind == sessions.SCREENED_OUT and "SO-1" in text
    assert "cc=CODE-77" not in text and "CODE-77" not in text and 'http-equiv="refresh"' not in text
    recruiting = steps.recruiting_of(campaign)
    recruiting.screened_out_url = "https://app.prolific.com/submissions/complete?cc=SO-1"
    recruiting.save()
    text = client.get(reverse("recruiting:finish", args=[campaign.pk])).content.decode()
    assert "cc=SO-1" in text and "CODE-77" not in text


@pytest.mark.django_db
def test_the_crowd_link_asks_before_it_logs_in_and_names_who_is_logged_in(
    campaign_factory, researcher
) -> None:
    campaign = _crowd(campaign_factory, session_items=4)
    client = Client()
    client.force_login(researcher)
    page = client.get(_entry(campaign))
    assert page.status_code == 200 and ExternalRater.objects.count() == 0
    assert 'id="account-warning"' in page.content.decode() and researcher.username in page.content.decode()
    assert "4 items" in page.content.decode()
    assert int(client.session["_auth_user_id"]) == researcher.pk  # still logged in after the GET
    client.post(_entry(campaign))
    assert int(client.session["_auth_user_id"]) == ExternalRater.objects.get().user_id


@pytest.mark.django_db
def test_crowd_ids_can_be_tied_to_the_platform_study(campaign_factory) -> None:
    campaign = _crowd(campaign_factory, platform_study_id="st-real")
    wrong = Client().post(_entry(campaign, STUDY_ID="st-other"))
    assert wrong.status_code == 400 and ExternalRater.objects.count() == 0
    assert Client().post(_entry(campaign, STUDY_ID="st-real")).status_code == 302


@pytest.mark.django_db
def test_the_recruiting_page_warns_about_crowd_entry_without_a_session_size(
    campaign_factory, researcher_client
) -> None:
    campaign = _crowd(campaign_factory)
    url = reverse("recruiting:manage", kwargs={"pk": campaign.pk})
    assert 'id="session-warning"' in researcher_client.get(url).content.decode()
    recruiting = steps.recruiting_of(campaign)
    recruiting.session_items = 5
    recruiting.save()
    page = researcher_client.get(url).content.decode()
    assert 'id="session-warning"' not in page and 'data-copy="entry-url"' in page


@pytest.mark.django_db
def test_a_screened_out_url_carrying_the_completion_code_is_refused(
    campaign_factory, researcher_client
) -> None:
    campaign = _crowd(campaign_factory)
    form = {
        "action": "settings",
        "practice_items": "0",
        "external_param": "PROLIFIC_PID",
        "gold_accuracy_min": "0.6",
        "accept_external": "on",
        "completion_code": "CODE-77",
        "completion_url": "https://app.prolific.com/submissions/complete?cc=CODE-77",
        "screened_out_url": "https://app.prolific.com/submissions/complete?cc=CODE-77",
        "session_items": "5",
    }
    page = researcher_client.post(reverse("recruiting:manage", kwargs={"pk": campaign.pk}), form)
    assert "carries the completion code" in page.content.decode()
    assert steps.recruiting_of(campaign).session_items is None
