"""Conversations in campaigns: a comparison per rated turn, both conversations shown, turn in the records.

Real answers: five models' two-turn MT-Bench answers (../shared/real-conversations), for the build of
a whole campaign; the rest runs on a small two-turn set.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotate.models import Campaign, Comparison
from annotate.services import campaign_create, campaign_status_set
from eval_sets.services import eval_set_import
from generation.models import ModelSpec
from generation.outputs_import import outputs_import
from reports.campaign_records import campaign_rating_records
from reports.exports import dpo_lines
from reports.ratings_file import RatingsFileError, ratings_read, ratings_to_text, ratings_write_jsonl
from tests.factories import login, post, rate, record, served_item

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[3] / "shared"
QUESTIONS = SHARED / "evalsets-public" / "mt_bench_question.jsonl"
ANSWERS = SHARED / "real-conversations"


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _conversation_set():
    """Two two-turn questions and one single-turn one, answered by `alpha` and `beta` (FastChat format)."""
    questions: list[dict[str, Any]] = [
        {"question_id": 1, "category": "writing", "turns": ["Write a poem.", "Now make it rhyme."]},
        {"question_id": 2, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]},
        {"question_id": 3, "category": "math", "turns": ["What is 5+5?"]},
    ]
    eval_set = eval_set_import(data=_jsonl(questions), filename="mt.jsonl", name="mt").eval_set
    for name in ("alpha", "beta"):
        answers = [
            {
                "question_id": q["question_id"],
                "choices": [
                    {"turns": [f"{name} {q['question_id']}.{t}" for t in range(1, len(q["turns"]) + 1)]}
                ],
            }
            for q in questions
        ]
        outputs_import(model_name=name, eval_set=eval_set, data=_jsonl(answers), filename=f"{name}.jsonl")
    return eval_set


def test_per_turn_rating_makes_a_comparison_per_turn_with_each_systems_own_history():
    eval_set = _conversation_set()
    campaign = campaign_create(name="conv", eval_set=eval_set, systems=["alpha", "beta"], seed=3)
    rows = list(Comparison.objects.filter(campaign=campaign).select_related("prompt", "texts"))
    assert sorted((c.prompt.uid, c.turn) for c in rows) == [("1", 1), ("1", 2), ("2", 1), ("2", 2), ("3", 1)]
    second = next(c for c in rows if (c.prompt.uid, c.turn) == ("1", 2))
    assert (second.texts.text_a, second.texts.text_b) == ("alpha 1.2", "beta 1.2")
    assert (second.texts.history_a, second.texts.history_b) == (["alpha 1.1"], ["beta 1.1"])
    # A system keeps its side for every turn of the same conversation.
    for uid in ("1", "2"):
        assert len({c.system_on_left for c in rows if c.prompt.uid == uid}) == 1


def test_conversation_rating_rates_once_after_the_last_turn():
    eval_set = _conversation_set()
    campaign = campaign_create(
        name="arena", eval_set=eval_set, systems=["alpha", "beta"], rate="conversation"
    )
    turns = sorted(Comparison.objects.filter(campaign=campaign).values_list("prompt__uid", "turn"))
    assert turns == [("1", 2), ("2", 2), ("3", 1)]


def test_create_campaign_takes_rate_and_refuses_an_unknown_one():
    eval_set = _conversation_set()
    out = io.StringIO()
    call_command(
        "create_campaign",
        "cmd",
        "--eval-set",
        "mt",
        "--systems",
        "alpha",
        "beta",
        "--rate",
        "conversation",
        stdout=out,
    )
    assert Campaign.objects.get(name="cmd").rate == "conversation"
    assert "3 comparisons" in out.getvalue()
    with pytest.raises(Exception, match="per-turn"):
        campaign_create(name="bad", eval_set=eval_set, systems=["alpha", "beta"], rate="whole")
    assert not Campaign.objects.filter(name="bad").exists()


def test_the_rating_page_gets_the_earlier_turns_on_the_same_sides_and_nothing_about_the_systems(rater):
    eval_set = _conversation_set()
    campaign = campaign_create(name="conv", eval_set=eval_set, systems=["alpha", "beta"], raters=[rater])
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    client = login(rater)
    state = post(client, "api_next", campaign)
    seen_second = False
    while state.get("item"):
        item = state["item"]
        comparison = served_item(client, item["token"])
        # A first turn looks like any single-turn item; a later one brings its turn and history.
        assert set(item) - {"token", "prompt_html", "left_html", "right_html"} == (
            {"turn", "history"} if comparison.turn > 1 else set()
        )
        if comparison.turn == 2:
            seen_second = True
            left = "alpha" if comparison.system_on_left == "a" else "beta"
            right = "beta" if left == "alpha" else "alpha"
            uid = comparison.prompt.uid
            earlier = item["history"][0]
            assert f"{left} {uid}.1" in earlier["left_html"] and f"{right} {uid}.1" in earlier["right_html"]
            assert f"{left} {uid}.2" in item["left_html"]
            assert comparison.prompt.turns[1] in item["prompt_html"]
            assert comparison.prompt.turns[0] in earlier["user_html"]
        for key in ("system", "model", "system_a", "system_b", "sample"):
            assert key not in item
        body = {"token": item["token"], "side": "left", "seconds": 5, "next": True}
        state = post(client, "api_submit", campaign, body)
    assert seen_second


def test_records_carry_the_turn_and_the_conversation_before_it(rater):
    eval_set = _conversation_set()
    campaign = campaign_create(name="conv", eval_set=eval_set, systems=["alpha", "beta"], raters=[rater])
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    assert rate(campaign, rater, "left") == 5
    records = campaign_rating_records(campaign=campaign)
    second = next(r for r in records if r.prompt_id == "1" and r.turn == 2)
    assert second.prompt_text == "Now make it rhyme."
    assert second.earlier == (("Write a poem.", "alpha 1.1", "beta 1.1"),)
    stream = io.StringIO()
    ratings_write_jsonl(records=records, stream=stream)
    again = ratings_read(stream=io.StringIO(stream.getvalue()))
    assert [(r.turn, r.earlier) for r in again] == [(r.turn, r.earlier) for r in records]
    table = ratings_to_text(records=records, fmt="csv").splitlines()
    assert table[0].endswith(",turn") and sorted(line.rsplit(",", 1)[1] for line in table[1:]) == list(
        "11122"
    )


def test_a_ratings_file_line_without_turn_is_turn_one_and_a_bad_turn_is_refused():
    line = record().contract_dict()
    assert ratings_read(stream=io.StringIO(json.dumps(line) + "\n"))[0].turn == 1
    with pytest.raises(RatingsFileError, match="turn"):
        ratings_read(stream=io.StringIO(json.dumps({**line, "turn": 0}) + "\n"))


def test_dpo_export_of_a_later_turn_writes_message_lists():
    later = record(
        choice="b", turn=2, prompt_text="U2", text_a="A2", text_b="B2", earlier=(("U1", "A1", "B1"),)
    )
    first = record(choice="a", prompt_text="U1", text_a="A1", text_b="B1")
    lines = dpo_lines(records=[first, later])
    assert lines[1] == {
        "prompt": [{"role": "user", "content": "U1"}],
        "chosen": [
            {"role": "assistant", "content": "B1"},
            {"role": "user", "content": "U2"},
            {"role": "assistant", "content": "B2"},
        ],
        "rejected": [
            {"role": "assistant", "content": "A1"},
            {"role": "user", "content": "U2"},
            {"role": "assistant", "content": "A2"},
        ],
    }
    assert lines[0]["chosen"] == [{"role": "assistant", "content": "A1"}]


def test_the_results_browser_shows_the_conversation_before_the_rated_turn(researcher_client):
    eval_set = _conversation_set()
    campaign = campaign_create(name="conv", eval_set=eval_set, systems=["alpha", "beta"])
    second = Comparison.objects.get(campaign=campaign, prompt__uid="2", turn=2)
    url = reverse("annotate:comparison_result", args=[campaign.pk]) + f"?id={second.pk}"
    page = researcher_client.get(url).content.decode()
    assert "Turn 1 (before the rated turn)" in page and "Turn 2 of 2: the rated turn" in page
    assert "alpha 2.1" in page and "beta 2.1" in page and "And 3+3?" in page


@pytest.mark.skipif(
    not (QUESTIONS.exists() and ANSWERS.exists()), reason="../shared real conversations absent"
)
def test_five_real_models_answers_build_a_per_turn_campaign_of_160_items_per_pair():
    eval_set = eval_set_import(data=QUESTIONS.read_bytes(), filename=QUESTIONS.name, name="mt-bench").eval_set
    for name in ("gpt-4", "claude-v1"):
        outputs_import(model_name=name, eval_set=eval_set, path=ANSWERS / f"{name}.jsonl")
    campaign = campaign_create(name="real", eval_set=eval_set, systems=["gpt-4", "claude-v1"])
    assert campaign.comparisons.count() == 160
    assert campaign.comparisons.filter(turn=2).count() == 80


def test_the_campaign_form_creates_a_campaign_that_rates_whole_conversations(researcher_client):
    eval_set = _conversation_set()
    systems = list(ModelSpec.objects.filter(name__in=["alpha", "beta"]).values_list("pk", flat=True))
    data = {
        "name": "web-conv", "eval_set": eval_set.pk, "systems": systems, "pairing": "all_pairs",
        "ratings_per_comparison": 1, "overlap": 0, "gold_fraction": 0, "instructions": "Be fair.",
        "min_seconds": 2, "rate": "conversation",
    }  # fmt: skip
    response = researcher_client.post(reverse("annotate:campaign_new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="web-conv")
    assert campaign.rate == "conversation"
    assert sorted(campaign.comparisons.values_list("turn", flat=True)) == [1, 2, 2]


def test_a_gold_pair_on_a_conversation_rated_whole_is_refused_so_it_cannot_stand_out():
    from annotate.services.gold import gold_upload

    eval_set = _conversation_set()
    campaign = campaign_create(
        name="arena", eval_set=eval_set, systems=["alpha", "beta"], rate="conversation", build=False
    )
    line = {"prompt_id": "1", "text_a": "x", "text_b": "y", "answer": "a"}
    with pytest.raises(Exception, match="a gold pair holds one turn"):
        gold_upload(campaign=campaign, data=_jsonl([line]))
    assert not campaign.comparisons.exists()
    assert gold_upload(campaign=campaign, data=_jsonl([{**line, "prompt_id": "3"}])) == 1


def test_the_api_creates_a_campaign_that_rates_whole_conversations(researcher):
    from api.tokens import api_token_create

    _conversation_set()
    token = api_token_create(user=researcher, name="t").secret
    body = {"name": "api-conv", "eval_set": "mt", "systems": ["alpha", "beta"], "rate": "conversation"}
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/campaigns", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Campaign.objects.get(name="api-conv").rate == "conversation"


@pytest.mark.parametrize("rate", ["per-turn", "conversation"])
def test_a_built_comparisons_texts_are_its_samples_texts_which_the_search_indexes(rate):
    # annotate.results.search finds answers by their samples' texts (migration 0020): the copies must agree.
    campaign = campaign_create(
        name=f"copies-{rate}", eval_set=_conversation_set(), systems=["alpha", "beta"], rate=rate
    )
    rows = Comparison.objects.filter(campaign=campaign).select_related("texts", "sample_a", "sample_b")
    assert rows.count() == (5 if rate == "per-turn" else 3)
    for c in rows:
        assert (c.texts.text_a, c.texts.text_b) == (c.sample_a.text, c.sample_b.text)
        assert c.sample_a.turn == c.sample_b.turn == c.turn
