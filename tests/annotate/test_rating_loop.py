"""The rating loop through the real endpoints: gold indistinguishability, skip rotation, quotas,
feasibility and stalls, request hardening, the reading-time flag and the display cap."""

from __future__ import annotations

import json
from functools import partial

import pytest
from django.test import Client

from annotate.feasibility import Stall, campaign_stall, feasibility_problems
from annotate.models import Lease, Rating
from annotate.progress import progress_from_counts
from annotate.rendering import DISPLAY_MAX_CHARS, TRUNCATED_NOTE, render_for_rater, render_markdown
from annotate.services import comparison_gold_mark
from core.users import user_create
from reports.campaign_records import campaign_rating_records
from tests.factories import AlwaysGold, login, served_item, shown_token

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, body: object = None, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps({} if body is None else body)
    return client.post(url, data=data, content_type="application/json")


def base(campaign) -> str:
    return f"/rate/task/{campaign.pk}/"


def shape(value: object) -> object:
    """The JSON's structure: keys and value types, none of the texts."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__


def test_gold_and_regular_answers_have_the_same_keys_and_the_same_progress_arithmetic(
    campaign_factory, make_rater
):
    rater = make_rater("g1")
    campaign = campaign_factory(n_prompts=20, gold_fraction=0.25, raters=[rater])
    for comparison in campaign.comparisons.order_by("pk")[:6]:
        comparison_gold_mark(comparison=comparison, answer="a")
    client = login(rater)
    state = post(client, base(campaign) + "next").json()
    shapes: dict[bool, set[str]] = {True: set(), False: set()}
    steps: dict[bool, set[tuple[int, int]]] = {True: set(), False: set()}
    while state["item"] is not None:
        is_gold = served_item(client, state["item"]["token"]).is_gold
        after = post(
            client, base(campaign) + "submit", {"token": state["item"]["token"], "side": "left", "next": True}
        ).json()
        shapes[is_gold].add(json.dumps(shape(after), sort_keys=True))
        steps[is_gold].add(
            (after["progress"]["done"] - state["progress"]["done"],
             after["progress"]["remaining"] - state["progress"]["remaining"])
        )  # fmt: skip
        state = after
    assert shapes[True] and shapes[True] <= shapes[False] | {json.dumps(shape(state), sort_keys=True)}
    # Every rating, check or not, moves the counter by exactly one each way.
    assert steps[True] == {(1, -1)} and steps[False] == {(1, -1)}
    # 20 items, 6 checks, rate 0.25: 14 regular + round(14/3) = 5 checks served, and "0 left" at the end.
    assert Rating.objects.filter(rater=rater).count() == 19 and state["progress"]["remaining"] == 0


def test_undo_after_a_gold_answer_does_not_change_the_scored_answer(campaign_factory, make_rater):
    rater = make_rater("g2")
    campaign = campaign_factory(n_prompts=6, gold_fraction=0.5, raters=[rater])
    gold = campaign.comparisons.order_by("pk").first()
    assert gold is not None
    comparison_gold_mark(comparison=gold, answer=gold.system_on_left)  # the left text is the right answer
    from annotate.assignment import item_next

    served = item_next(campaign=campaign, rater=rater, rng=AlwaysGold())
    assert served is not None and served.pk == gold.pk
    client = login(rater)
    shown = shown_token(gold, rater)
    post(client, base(campaign) + "submit", {"token": shown, "side": "right"})
    back = post(client, base(campaign) + "undo").json()
    assert back["item"]["token"] == shown
    post(client, base(campaign) + "submit", {"token": shown, "side": "left"})
    assert Rating.objects.get(rater=rater, comparison=gold).side == "left"
    (record,) = [r for r in campaign_rating_records(campaign=campaign) if r.is_gold]
    # Scored on the first answer (right: wrong), not the re-answer after undo.
    assert record.choice != record.gold_choice
    assert Lease.objects.get(rater=rater, comparison=gold).first_choice == record.choice


def test_skipped_items_come_back_least_recently_skipped_first_and_the_page_is_told(
    campaign_factory, make_rater
):
    rater = make_rater("s1")
    campaign = campaign_factory(n_prompts=3, raters=[rater])
    client = login(rater)
    state = post(client, base(campaign) + "next").json()
    order = []
    for _ in range(3):
        order.append(state["item"]["token"])
        assert state["progress"]["only_skipped"] is False
        state = post(client, base(campaign) + "skip", {"token": state["item"]["token"]}).json()
    # Everything left was skipped: served oldest skip first, around and around, never stuck.
    for round_ in range(2):
        for expected in order:
            assert state["item"]["token"] == expected, round_
            assert state["progress"]["only_skipped"] is True and state["progress"]["remaining"] == 3
            state = post(client, base(campaign) + "skip", {"token": expected}).json()
    state = post(client, base(campaign) + "submit", {"token": order[0], "side": "tie", "next": True}).json()
    assert state["item"]["token"] == order[1] and state["progress"]["remaining"] == 2


def test_a_quota_stops_a_fast_rater_and_leaves_the_rest_to_others(campaign_factory, make_rater):
    fast, slow = make_rater("fast"), make_rater("slow")
    campaign = campaign_factory(n_prompts=10, quota_per_rater=4, raters=[fast, slow])
    client = login(fast)
    state = post(client, base(campaign) + "next").json()
    assert state["progress"]["remaining"] == 4
    while state["item"] is not None:
        token = state["item"]["token"]
        state = post(client, base(campaign) + "submit", {"token": token, "side": "left", "next": True}).json()
    assert Rating.objects.filter(rater=fast).count() == 4 and state["progress"]["remaining"] == 0
    assert post(login(slow), base(campaign) + "next").json()["progress"]["remaining"] == 4


def test_feasibility_rule_gives_numbers():
    assert feasibility_problems(needed=[1] * 36 + [3] * 6, raters=3, quota=None) == []
    (short,) = feasibility_problems(needed=[1] * 36 + [3] * 6, raters=2, quota=None)
    assert "6 comparison(s) need up to 3 raters" in short and "6 rating(s) can never be given" in short
    (quota,) = feasibility_problems(needed=[2] * 10, raters=3, quota=5)
    assert "20 ratings are needed but 3 rater(s) x quota 5 = 15" in quota


def test_a_pool_too_small_for_the_overlap_is_named_as_the_cause_and_not_called_a_stall(
    campaign_factory, make_rater, settings
):
    r1, r2 = make_rater("st1"), make_rater("st2")
    campaign = campaign_factory(n_prompts=21, overlap=0.2, raters=[r1, r2])
    researcher = user_create(username="st-res", role="researcher", password="x-password-123")
    res = login(researcher)
    # Removing one rater leaves overlap items needing 3 raters with 1: the researcher is told with numbers.
    response = res.post(f"/campaigns/{campaign.pk}/raters", {"user": r2.pk, "action": "remove"}, follow=True)
    assert "cannot be finished as it stands" in response.content.decode()
    res.post(f"/campaigns/{campaign.pk}/raters", {"user": r2.pk, "action": "add"})
    for rater in (r1, r2):
        client = login(rater)
        state = post(client, base(campaign) + "next").json()
        while state["item"] is not None:
            token = state["item"]["token"]
            state = post(
                client, base(campaign) + "submit", {"token": token, "side": "left", "next": True}
            ).json()
        assert state["progress"]["remaining"] == 0
    n_overlap = campaign.comparisons.filter(needed=3).count()
    stall = campaign_stall(campaign=campaign)
    assert n_overlap == round(0.2 * 21) and (stall.short, stall.ratings) == (n_overlap, 0)
    page = res.get(f"/campaigns/{campaign.pk}/").content.decode()
    # Issue 26.5: the cause is a pool of 2 for items needing 3 raters, not raters who used up their items.
    assert "has rated them or used their quota" not in page and 'id="stalled"' not in page
    assert f"{n_overlap} comparison(s) need up to 3 raters each but the pool has 2" in page
    assert "these are the overlap comparisons" in page and "lower the overlap (0 turns it off)" in page


def test_raters_who_used_their_quota_stall_the_campaign_and_the_page_says_so(campaign_factory, make_rater):
    raters = [make_rater(f"qs{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=6, quota_per_rater=1, raters=raters)
    for rater in raters:
        client = login(rater)
        state = post(client, base(campaign) + "next").json()
        post(client, base(campaign) + "submit", {"token": state["item"]["token"], "side": "left"})
    assert campaign_stall(campaign=campaign) == Stall(ratings=3, comparisons=3, short=0)
    researcher = user_create(username="qs-res", role="researcher", password="x-password-123")
    page = login(researcher).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Stalled: 3 ratings need raters who have not yet rated these items" in page
    assert "raise the quota per rater" in page


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"token": {"a": {"b": [1, [2, [3]]]}}, "side": "left"}', "token must be a string"),
        (b'{"token": "x", "side": "left", "comment": null}', "comment must be a string"),
        (b'{"token": "x", "side": "left", "seconds": "fast"}', "seconds must be a number"),
        (b'{"token": "x", "side": "left", "next": "yes"}', "next must be true or false"),
        (b'["token"]', "must be a JSON object"),
        (b'{"token": "x", "side": "left", "extra": 1}', "unknown field(s): extra"),
    ],
)
def test_malformed_bodies_get_400_with_a_message_and_change_nothing(
    campaign_factory, make_rater, raw, message
):
    rater = make_rater("h1")
    campaign = campaign_factory(n_prompts=2, raters=[rater])
    client = login(rater)
    token = post(client, base(campaign) + "next").json()["item"]["token"]
    raw = raw.replace(b'"x"', json.dumps(token).encode())
    response = post(client, base(campaign) + "submit", raw=raw)
    assert response.status_code == 400 and message in response.json()["error"]
    assert not Rating.objects.exists()


def test_a_rating_faster_than_the_minimum_is_flagged_for_the_researcher(campaign_factory, make_rater):
    rater = make_rater("tf")
    campaign = campaign_factory(n_prompts=2, min_seconds=30, raters=[rater])
    client = login(rater)
    token = post(client, base(campaign) + "next").json()["item"]["token"]
    post(client, base(campaign) + "submit", {"token": token, "side": "left", "seconds": 1})
    assert Rating.objects.get().too_fast is True
    researcher = user_create(username="tf-res", role="researcher", password="x-password-123")
    page = login(researcher).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="too-fast"' in page and "Ratings faster than 30 s" in page


def test_progress_arithmetic_counts_checks_like_items():
    counts = partial(progress_from_counts, unskipped_left=1, quota=None, gold_fraction=0.2)
    start = counts(rated=0, rated_gold=0, regular_room=40, gold_left=20)
    after_regular = counts(rated=1, rated_gold=0, regular_room=39, gold_left=20)
    after_gold = counts(rated=1, rated_gold=1, regular_room=40, gold_left=19)
    assert (start.remaining, start.gold_owed) == (50, 10)
    assert after_regular.remaining == after_gold.remaining == 49
    capped = counts(rated=3, rated_gold=0, regular_room=40, gold_left=0, quota=5)
    assert capped.remaining == 2 and capped.regular_left == 2


def test_markdown_tables_strikethrough_shifted_headings_and_the_display_cap():
    html = render_markdown("## Steps\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ [x](https://e.org)")
    assert "<table>" in html and "<td>1</td>" in html and "<s>old</s>" in html
    assert "<h5>Steps</h5>" in html and "<h2" not in html
    assert 'rel="noopener noreferrer nofollow"' in html
    long = "line of text\n" * (DISPLAY_MAX_CHARS // 10)
    cut = render_for_rater(long)
    assert TRUNCATED_NOTE in cut and len(cut) < len(render_markdown(long))
    assert TRUNCATED_NOTE not in render_for_rater("short")
