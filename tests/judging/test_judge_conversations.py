"""The judge on conversations: MT-Bench's multi-turn pairwise prompt, and imported verdicts per turn."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from annotate.models import Comparison
from annotate.services import campaign_create
from eval_sets.services import eval_set_import
from generation.outputs_import import outputs_import
from generation.services import model_spec_register
from judging import runner
from judging.errors import JudgingError
from judging.imports import judgments_import
from judging.models import Verdict
from judging.prompt import judge_conversation_prompt
from judging.services import judge_run_create

pytestmark = pytest.mark.django_db


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _campaign():
    questions = [{"question_id": 1, "category": "writing", "turns": ["Write a poem.", "Now make it rhyme."]}]
    eval_set = eval_set_import(data=_jsonl(questions), filename="mt.jsonl", name="mt").eval_set
    for name in ("alpha", "beta"):
        answer = {"question_id": 1, "choices": [{"turns": [f"{name} poem", f"{name} rhyme"]}]}
        outputs_import(model_name=name, eval_set=eval_set, data=_jsonl([answer]), filename=name)
    return campaign_create(name="conv", eval_set=eval_set, systems=["alpha", "beta"])


def test_the_conversation_prompt_shows_each_assistants_own_conversation_then_asks_about_the_last_turn():
    text = judge_conversation_prompt(
        user_turns=["Q1", "Q2"], first=["a1", "a2"], second=["b1", "b2"], max_answer_chars=100
    )
    a_start = text.index("<|The Start of Assistant A's Conversation with User|>")
    b_start = text.index("<|The Start of Assistant B's Conversation with User|>")
    a_part, b_part = text[a_start:b_start], text[b_start:]
    assert a_part.index("Q1") < a_part.index("a1") < a_part.index("Q2") < a_part.index("a2")
    assert "b1" not in a_part and "a1" not in b_part and "b2" in b_part
    assert text.rstrip().endswith("Verdict:") and "LAST question" in text


def test_a_judge_run_sees_the_whole_conversation_for_a_later_turn(judge_dir, monkeypatch):
    campaign = _campaign()
    model_spec_register(name="tiny-judge", path=str(judge_dir))
    seen: list[str] = []

    class Recording:
        batch_size = 8
        kind = "causal"

        def verdict_probabilities(self, prompts: list[str]) -> list[list[float]]:
            seen.extend(prompts)
            return [[0.6, 0.3, 0.1] for _ in prompts]

    monkeypatch.setattr(runner, "verdict_model_for", lambda spec: Recording())
    run = judge_run_create(campaign=campaign, model="tiny-judge", enqueue=False)
    runner.judge_run_execute(run_id=run.pk)
    assert Verdict.objects.filter(run=run).count() == 2
    conversation = [p for p in seen if "Conversation with User" in p]
    assert len(conversation) == 2  # turn 2, in both orders
    assert all("alpha poem" in p and "beta poem" in p and "Now make it rhyme." in p for p in conversation)
    single = [p for p in seen if p not in conversation]
    assert len(single) == 2 and all("rhyme" not in p for p in single)


def test_imported_verdicts_name_their_turn_and_an_unknown_turn_is_refused():
    campaign = _campaign()
    rows = [
        {"prompt_id": "1", "system_a": "alpha", "system_b": "beta", "p_a": 0.7, "p_tie": 0.1, "p_b": 0.2},
        {
            "prompt_id": "1",
            "turn": 2,
            "system_a": "beta",
            "system_b": "alpha",
            "p_a": 0.6,
            "p_tie": 0.1,
            "p_b": 0.3,
        },
    ]
    run = judgments_import(campaign=campaign, stream=io.BytesIO(_jsonl(rows)), filename="v.jsonl")
    second = Verdict.objects.get(run=run, comparison__turn=2)
    assert (second.p_a, second.p_b) == (0.3, 0.6)  # flipped to the comparison's own A and B
    assert Verdict.objects.get(run=run, comparison__turn=1).p_a == 0.7
    bad = [{**rows[0], "turn": 3}]
    with pytest.raises(JudgingError, match="turn 3"):
        judgments_import(campaign=campaign, stream=io.BytesIO(_jsonl(bad)), filename="v.jsonl")
    assert Comparison.objects.filter(campaign=campaign).count() == 2
