"""Conversations made elsewhere: MT-Bench's questions with every turn, FastChat's answers one per turn.

Real data: the 80 MT-Bench questions (../shared/evalsets-public) and five real models' two-turn
answers to them (../shared/real-conversations); the tests that need them skip where they are absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from eval_sets.services import eval_set_import
from generation.errors import GenerationError
from generation.models import GenerationJob, Sample
from generation.outputs_import import outputs_import

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[3] / "shared"
QUESTIONS = SHARED / "evalsets-public" / "mt_bench_question.jsonl"
ANSWERS = SHARED / "real-conversations"
needs_real = pytest.mark.skipif(
    not (QUESTIONS.exists() and (ANSWERS / "gpt-4.jsonl").exists()),
    reason="../shared/evalsets-public and ../shared/real-conversations are not here",
)


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _two_questions():
    data = _jsonl(
        [
            {"question_id": 1, "category": "writing", "turns": ["Write a poem.", "Now make it rhyme."]},
            {"question_id": 2, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]},
        ]
    )
    return eval_set_import(data=data, filename="mt.jsonl", name="mt").eval_set


def _answer(qid: int, turns: list[str]) -> dict:
    return {"question_id": qid, "answer_id": "x", "model_id": "m", "choices": [{"index": 0, "turns": turns}]}


@needs_real
def test_the_80_mtbench_questions_and_a_real_models_answers_import_with_both_turns():
    eval_set = eval_set_import(data=QUESTIONS.read_bytes(), filename=QUESTIONS.name, name="mt-bench").eval_set
    prompts = list(eval_set.prompts.all())
    assert len(prompts) == 80 and all(len(p.turns) == 2 for p in prompts)
    assert all(p.text == p.turns[0] for p in prompts)
    job = outputs_import(model_name="gpt-4", eval_set=eval_set, path=ANSWERS / "gpt-4.jsonl")
    samples = Sample.objects.filter(job=job, selected=True)
    assert samples.count() == 160
    assert sorted(set(samples.values_list("turn", flat=True))) == [1, 2]
    first = json.loads((ANSWERS / "gpt-4.jsonl").read_text(encoding="utf-8").splitlines()[0])
    stored = samples.get(prompt__uid=str(first["question_id"]), turn=2)
    assert stored.text == first["choices"][0]["turns"][1]


def test_a_fastchat_answer_file_gives_one_selected_sample_per_turn():
    eval_set = _two_questions()
    data = _jsonl([_answer(1, ["A poem.", "A rhyme."]), _answer(2, ["4", "6"])])
    job = outputs_import(model_name="api", eval_set=eval_set, data=data, filename="answers.jsonl")
    rows = set(Sample.objects.filter(job=job, selected=True).values_list("prompt__uid", "turn", "text"))
    assert rows == {("1", 1, "A poem."), ("1", 2, "A rhyme."), ("2", 1, "4"), ("2", 2, "6")}


def test_an_answer_with_the_wrong_number_of_turns_is_refused_and_writes_nothing():
    eval_set = _two_questions()
    data = _jsonl([_answer(1, ["A poem.", "A rhyme."]), _answer(2, ["4"])])
    with pytest.raises(GenerationError, match="prompt 2 has 2 turn\\(s\\) but the answer has 1"):
        outputs_import(model_name="api", eval_set=eval_set, data=data, filename="answers.jsonl")
    assert not GenerationJob.objects.exists() and not Sample.objects.exists()


def test_a_single_response_for_a_conversation_is_refused():
    eval_set = _two_questions()
    data = _jsonl([{"prompt_id": "1", "response": "only one"}])
    with pytest.raises(GenerationError, match="is a conversation of 2 turns"):
        outputs_import(model_name="api", eval_set=eval_set, data=data, filename="answers.jsonl")


def test_the_web_upload_reads_fastchat_answers(researcher_client):
    eval_set = _two_questions()
    data = _jsonl([_answer(1, ["A poem.", "A rhyme."]), _answer(2, ["4", "6"])])
    response = researcher_client.post(
        reverse("generation:outputs_upload"),
        {"model_name": "api", "eval_set": eval_set.pk, "file": SimpleUploadedFile("a.jsonl", data)},
    )
    assert response.status_code == 302
    assert Sample.objects.filter(selected=True, turn=2).count() == 2
