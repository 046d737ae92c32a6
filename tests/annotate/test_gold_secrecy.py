"""Issue 25.10: gold prompts never served as regular items, and no token shared between raters."""

from __future__ import annotations

import json

import pytest

from annotate.models import Campaign, Rating
from annotate.services import CampaignError, campaign_build, campaign_create, campaign_status_set, gold_upload
from tests.factories import AlwaysGold, login, make_eval_set, make_system, post

pytestmark = pytest.mark.django_db


def _gold_line(uid: str) -> str:
    return json.dumps({"prompt_id": uid, "text_a": "right", "text_b": "wrong", "answer": "a"})


def test_a_gold_pair_on_a_prompt_the_campaign_rates_is_refused_with_its_line_and_nothing_is_added(
    campaign_factory,
):
    campaign = campaign_factory(name="gold-clash", n_prompts=6, categories=["coding"])
    data = "\n".join([_gold_line("p000"), _gold_line("p001")]).encode()
    with pytest.raises(
        CampaignError, match="line 2: prompt 'p001' is one this campaign serves as a regular item"
    ):
        gold_upload(campaign=campaign, data=data, filename="gold.jsonl")
    assert not campaign.comparisons.filter(gold_uploaded=True).exists()
    assert gold_upload(campaign=campaign, data=_gold_line("p000").encode()) == 1


def test_a_campaign_built_after_its_gold_upload_leaves_the_gold_prompts_out():
    eval_set = make_eval_set(name="later", n_prompts=4)
    make_system("sys-a", eval_set)
    make_system("sys-b", eval_set)
    campaign = campaign_create(name="later", eval_set=eval_set, systems=["sys-a", "sys-b"], build=False)
    gold_upload(campaign=campaign, data=_gold_line("p002").encode())
    assert campaign_build(campaign=campaign) == 3
    regular = campaign.comparisons.filter(gold_uploaded=False).values_list("prompt__uid", flat=True)
    assert sorted(regular) == ["p000", "p001", "p003"]


def test_two_raters_never_see_the_same_token_for_the_same_gold_check_or_any_item(
    campaign_factory, make_rater
):
    first, second = make_rater("col-1"), make_rater("col-2")
    campaign = campaign_factory(
        name="collude",
        n_prompts=6,
        ratings_per_comparison=2,
        gold_fraction=0.5,
        raters=[first, second],
        categories=["coding"],
    )
    gold_upload(campaign=campaign, data=_gold_line("p000").encode())
    seen: dict[str, set[str]] = {}
    for rater in (first, second):
        client = login(rater)
        tokens: set[str] = set()
        state = post(client, "api_next", campaign)
        while state.get("item"):
            tokens.add(state["item"]["token"])
            state = post(
                client,
                "api_submit",
                campaign,
                {"token": state["item"]["token"], "side": "left", "next": True},
            )
        seen[rater.username] = tokens
    # Both rated the gold check (it is served to everyone), each under a token of their own.
    assert Rating.objects.filter(campaign=campaign, comparison__gold_uploaded=True).count() == 2
    assert seen["col-1"] and seen["col-2"] and not seen["col-1"] & seen["col-2"]
    stored = {c.token for c in campaign.comparisons.all()}
    assert not (seen["col-1"] | seen["col-2"]) & stored, "the stored token never leaves the server"


def test_a_token_shown_to_one_rater_names_no_item_for_another(campaign_factory, make_rater):
    first, second = make_rater("tok-1"), make_rater("tok-2")
    campaign = campaign_factory(name="swap", n_prompts=2, ratings_per_comparison=2, raters=[first, second])
    token = post(login(first), "api_next", campaign)["item"]["token"]
    client = login(second)
    post(client, "api_next", campaign)
    answer = client.post(
        f"/rate/task/{campaign.pk}/submit",
        data=json.dumps({"token": token, "side": "left"}),
        content_type="application/json",
    )
    assert answer.status_code == 409 and answer.json()["error"] == "unknown item"
    assert not Rating.objects.filter(rater=second).exists()


def test_gold_checks_still_come_first_when_drawn(campaign_factory, make_rater):
    rater = make_rater("tok-3")
    campaign = campaign_factory(
        name="draw", n_prompts=4, gold_fraction=0.5, raters=[rater], categories=["coding"]
    )
    gold_upload(campaign=campaign, data=_gold_line("p000").encode())
    from annotate.assignment import item_next

    served = item_next(campaign=campaign, rater=rater, rng=AlwaysGold())
    assert served is not None and served.gold_uploaded
    campaign_status_set(campaign=campaign, status=Campaign.Status.CLOSED)
