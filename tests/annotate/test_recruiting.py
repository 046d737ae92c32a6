"""Invite links, crowd entry, consent, practice with feedback and qualification; bad links create nothing."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotate.models import Campaign, Rating
from annotate.recruiting import links, sessions, steps
from annotate.recruiting_models import ConsentRecord, Enrollment, ExternalRater, Invite, PracticeAnswer

GOOD_PASSWORD = "a-long-enough-passphrase-42"


def _counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Enrollment.objects.count(),
        ExternalRater.objects.count(),
        Rating.objects.count(),
    )


def _practice(campaign: Campaign, n: int = 2) -> None:
    lines = [
        json.dumps({"prompt": f"Practice {i}", "text_a": "right answer", "text_b": "wrong", "answer": "a",
                    "explanation": f"A is correct because {i}."})
        for i in range(n)
    ]  # fmt: skip
    steps.practice_upload(campaign=campaign, data="\n".join(lines).encode(), seed=1)


@pytest.mark.django_db
def test_invite_signup_joins_after_consent_and_practice(campaign_factory) -> None:
    campaign = campaign_factory(name="inv")
    recruiting = steps.recruiting_of(campaign)
    recruiting.consent_text = "I agree to **take part**."
    recruiting.practice_items = 2
    recruiting.completion_code = "C0DE"
    recruiting.save()
    _practice(campaign)
    invite = links.invite_create(campaign=campaign, max_uses=3)
    client = Client()
    page = client.get(reverse("recruiting:invite", args=[invite.token]))
    assert page.status_code == 200 and b"Create your rater account" in page.content
    # Django's password validators apply: a short common password is refused and nothing is created.
    before = _counts()
    bad = client.post(reverse("recruiting:invite", args=[invite.token]),
                      {"username": "newbie", "password": "password", "password2": "password"})  # fmt: skip
    assert bad.status_code == 200 and _counts() == before
    response = client.post(reverse("recruiting:invite", args=[invite.token]),
                           {"username": "newbie", "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD})  # fmt: skip
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert not campaign.raters.filter(pk=user.pk).exists()  # not in the pool before the steps
    step = client.get(reverse("recruiting:step", args=[campaign.pk]))
    assert step["Location"] == reverse("recruiting:consent", args=[campaign.pk])
    # The rating endpoints refuse a rater who has not finished onboarding.
    assert client.post(reverse("annotate:api_next", args=[campaign.pk])).status_code == 404
    client.post(reverse("recruiting:consent", args=[campaign.pk]), {"accept": "yes"})
    assert ConsentRecord.objects.filter(campaign=campaign, user=user).exists()
    for _ in range(2):
        page = client.get(reverse("recruiting:practice", args=[campaign.pk]))
        item = page.context["item"]
        left = "left" if item.text_on_left == "a" else "right"
        done = client.post(
            reverse("recruiting:practice", args=[campaign.pk]), {"item": item.pk, "side": left}
        )
        feedback = client.get(done["Location"])
        assert b"A is correct because" in feedback.content and b"Right" in feedback.content
    assert Rating.objects.count() == 0 and PracticeAnswer.objects.filter(rater=user).count() == 2
    final = client.get(reverse("recruiting:step", args=[campaign.pk]))
    assert final["Location"] == reverse("annotate:rate", args=[campaign.pk])
    assert campaign.raters.filter(pk=user.pk).exists()
    invite.refresh_from_db()
    assert invite.uses == 1


@pytest.mark.django_db
def test_failing_practice_is_screened_out(campaign_factory, make_rater) -> None:
    campaign = campaign_factory(name="screen")
    recruiting = steps.recruiting_of(campaign)
    recruiting.practice_items = 2
    recruiting.qualification_percent = 60
    recruiting.screened_out_code = "SCREENED"
    recruiting.save()
    _practice(campaign)
    invite = links.invite_create(campaign=campaign)
    rater = make_rater("weak")
    links.invite_accept(token=invite.token, user=rater)
    for _ in range(2):
        item = steps.practice_next(campaign=campaign, rater=rater)
        assert item is not None
        wrong = "right" if item.text_on_left == "a" else "left"
        steps.practice_answer(campaign=campaign, rater=rater, item_id=item.pk, side=wrong)
    assert steps.enrollment_advance(campaign=campaign, rater=rater) == steps.SCREENED_OUT
    assert not campaign.raters.filter(pk=rater.pk).exists()
    client = Client()
    client.force_login(rater)
    finish = client.get(reverse("recruiting:finish", args=[campaign.pk]))
    assert b"SCREENED" in finish.content


@pytest.mark.django_db
@pytest.mark.parametrize("problem", ["forged", "expired", "revoked", "exhausted"])
def test_bad_invite_creates_nothing(campaign_factory, make_rater, problem) -> None:
    campaign = campaign_factory(name=f"bad-{problem}")
    invite = links.invite_create(campaign=campaign, max_uses=1)
    token = invite.token
    if problem == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif problem == "expired":
        Invite.objects.filter(pk=invite.pk).update(expires=timezone.now() - timedelta(seconds=1))
    elif problem == "revoked":
        links.invite_revoke(invite=invite)
    else:
        links.invite_accept(token=token, user=make_rater("first"))
    before = _counts()
    client = Client()
    url = reverse("recruiting:invite", args=[token])
    assert client.get(url).status_code in (404, 410)
    response = client.post(url, {"username": "x", "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert response.status_code in (404, 410) and b"Nothing was created" in response.content
    assert _counts() == before


@pytest.mark.django_db
def test_external_entry_creates_resumes_and_rejects_malformed(campaign_factory) -> None:
    campaign = campaign_factory(name="crowd")
    recruiting = steps.recruiting_of(campaign)
    recruiting.accept_external = True
    recruiting.save()
    url = reverse("recruiting:external", args=[recruiting.entry_token])
    query = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "study1", "SESSION_ID": "sess1"}
    first = Client().post(f"{url}?{urlencode(query)}")
    assert first.status_code == 302
    bound = ExternalRater.objects.get()
    assert (bound.external_id, bound.study_id, bound.session_id) == (
        "5f1a2b3c4d5e6f7a8b9c0d1e",
        "study1",
        "sess1",
    )
    assert not bound.user.has_usable_password()
    again = Client().post(f"{url}?{urlencode(query)}")
    assert (
        again.status_code == 302
        and ExternalRater.objects.count() == 1
        and User.objects.filter(username__startswith="ext").count() == 1
    )
    before = _counts()
    for bad in (
        {"PROLIFIC_PID": "<script>"},
        {},
        {"PROLIFIC_PID": "x" * 65},
        {"PROLIFIC_PID": "ok", "STUDY_ID": "a b"},
    ):
        assert Client().get(url, bad).status_code == 400
        assert Client().post(f"{url}?{urlencode(bad)}").status_code == 400
    forged = reverse("recruiting:external", args=["forged-token"])
    assert Client().get(forged, query).status_code == 400
    assert Client().post(f"{forged}?{urlencode(query)}").status_code == 400
    assert _counts() == before


@pytest.mark.django_db
def test_external_ids_reach_the_exports_and_read_back(campaign_factory) -> None:
    import io

    from annotate.assignment import item_next, rating_submit
    from reports.campaign_records import campaign_rating_records
    from reports.ratings_file import ratings_read, ratings_write_csv, ratings_write_jsonl

    campaign = campaign_factory(name="paid")
    recruiting = steps.recruiting_of(campaign)
    recruiting.accept_external = True
    recruiting.save()
    bound = links.external_enter(
        entry_token=recruiting.entry_token,
        query={"PROLIFIC_PID": "pid123", "STUDY_ID": "s9", "SESSION_ID": "x7"},
    )
    assert steps.enrollment_advance(campaign=campaign, rater=bound.user) == steps.RATE
    item = item_next(campaign=campaign, rater=bound.user)
    assert item is not None
    rating_submit(campaign=campaign, rater=bound.user, token=item.token, side="left", seconds=3.0)
    records = campaign_rating_records(campaign=campaign)
    assert [(r.external_id, r.study_id, r.session_id) for r in records] == [("pid123", "s9", "x7")]
    jsonl, csv_out = io.StringIO(), io.StringIO()
    ratings_write_jsonl(records=records, stream=jsonl)
    ratings_write_csv(records=records, stream=csv_out)
    assert '"external_id": "pid123"' in jsonl.getvalue() and "pid123,s9,x7" in csv_out.getvalue()
    back = ratings_read(stream=io.StringIO(jsonl.getvalue()))
    assert back[0].session_id == "x7"


@pytest.mark.parametrize(("value", "saved"), [("0.8", 0.8), ("1.5", None), ("-0.1", None)])
def test_the_gold_flag_threshold_is_set_on_the_recruiting_page(
    campaign_factory, researcher_client, value, saved
):
    campaign = campaign_factory()
    url = reverse("recruiting:manage", kwargs={"pk": campaign.pk})
    form = {
        "action": "settings",
        "practice_items": "0",
        "external_param": "PROLIFIC_PID",
        "gold_accuracy_min": value,
    }
    response = researcher_client.post(url, form, follow=True)
    stored = steps.recruiting_of(campaign).gold_accuracy_min
    if saved is None:
        assert "A share between 0 and 1" in response.content.decode() and stored == pytest.approx(0.6)
    else:
        assert stored == pytest.approx(saved)


class _NeverGold(random.Random):
    """Serves a regular item whenever one is left."""

    def random(self) -> float:
        return 0.999999


@pytest.mark.django_db
def test_the_finish_page_says_done_only_when_the_rating_page_has_nothing_left(campaign_factory, make_rater):
    # With the quota used up the rater still owes gold checks; calling them done then would show
    # that what the rating page still serves is checks.
    from annotate.assignment import item_next, rating_submit
    from annotate.services import comparison_gold_mark

    rater = make_rater("quota-done")
    campaign = campaign_factory(
        name="quota-gold", n_prompts=8, gold_fraction=0.5, quota_per_rater=2, raters=[rater]
    )
    for comparison in campaign.comparisons.order_by("pk")[:3]:
        comparison_gold_mark(comparison=comparison, answer="a")
    for _ in range(2):
        item = item_next(campaign=campaign, rater=rater, rng=_NeverGold())
        assert item is not None and item.gold_answer is None
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left", seconds=4.0)
    served = 2
    while not sessions.finish_state(campaign=campaign, rater=rater).done:
        item = item_next(campaign=campaign, rater=rater)
        assert item is not None, "the finish page says not done, yet nothing is served"
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left", seconds=4.0)
        served += 1
    assert item_next(campaign=campaign, rater=rater) is None
    assert served > 2  # the checks owed for two regular items were served before the code
