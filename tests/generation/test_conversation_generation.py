"""Generation turn by turn: turn t continues from the job's own selected answers to turns 1..t-1."""

from __future__ import annotations

import json

import pytest

from core.models import JobStatus
from eval_sets.services import eval_set_import
from generation import runner
from generation.models import Sample
from generation.params import GenerationParams
from generation.runner import generation_job_run
from generation.selection import select_response
from generation.selectors import generation_export_rows
from generation.services import generation_job_create, model_spec_register

pytestmark = pytest.mark.django_db

FAST = GenerationParams(samples_per_prompt=3, max_new_tokens=6, temperature=0.9)


@pytest.fixture
def conversation_job(causal_dir):
    rows = [
        {"question_id": 1, "category": "writing", "turns": ["Write a poem.", "Now make it rhyme."]},
        {"question_id": 2, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]},
        {"question_id": 3, "category": "math", "turns": ["Name a prime."]},
    ]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    eval_set_import(data=data, filename="mt.jsonl", name="mt")
    spec = model_spec_register(name="tiny-causal", path=str(causal_dir))
    return generation_job_create(model=spec, eval_set="mt", params=FAST, enqueue=False)


def _byte_ids(text: str) -> list[int]:
    from generation.tiny import byte_tokenizer

    return list(byte_tokenizer()(text, add_special_tokens=False)["input_ids"])


def _contains(haystack: list[int], needle: list[int]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def test_two_turns_are_generated_and_the_second_prompt_holds_the_first_selected_answer(conversation_job):
    job = generation_job_run(job_id=conversation_job.pk)
    assert job.status == JobStatus.DONE and job.prompts_done == 3
    rows = list(generation_export_rows(job=job, with_tokens=True))
    assert {(r["prompt_id"], r["turn"]) for r in rows} == {("1", 1), ("1", 2), ("2", 1), ("2", 2), ("3", 1)}
    for uid in ("1", "2"):
        first = next(r for r in rows if (r["prompt_id"], r["turn"], r["selected"]) == (uid, 1, True))
        second = [r for r in rows if (r["prompt_id"], r["turn"]) == (uid, 2)]
        assert len(second) == 3 and sum(r["selected"] for r in second) == 1
        # Exactly what the model was fed for turn 2: the first user turn, its own selected answer
        # (token for token), then the second user turn, in the recorded plain template.
        assert _contains(second[0]["prompt_token_ids"], _byte_ids(first["text"]))
        assert _contains(second[0]["prompt_token_ids"], _byte_ids("Assistant: " + first["text"]))
        # The paper's rule on this turn's own scores.
        scores = [r["logprob_sum"] for r in sorted(second, key=lambda r: r["sample_index"])]
        assert [r["selected"] for r in second].index(True) == select_response(scores).index
    single = next(r for r in rows if r["prompt_id"] == "3")
    assert single["prompt_token_ids"] == _byte_ids("Name a prime.")
    assert "User: {user}" in job.conversation_template


def test_a_job_stopped_between_turns_resumes_at_the_second_turn_without_duplicates(
    conversation_job, monkeypatch
):
    real_commit = runner._prompt_commit

    def dies_at_turn_two(**kwargs):
        if kwargs.get("turn") == 2:
            raise RuntimeError("worker lost")
        return real_commit(**kwargs)

    monkeypatch.setattr(runner, "_prompt_commit", dies_at_turn_two)
    job = generation_job_run(job_id=conversation_job.pk)
    assert job.status == JobStatus.FAILED
    first_turn = list(Sample.objects.filter(job=job).order_by("pk").values_list("pk", "turn", "text"))
    assert {turn for _, turn, _ in first_turn} == {1} and len(first_turn) == 9
    assert job.prompts_done == 1  # only the single-turn prompt is whole

    monkeypatch.setattr(runner, "_prompt_commit", real_commit)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE and job.prompts_done == 3
    after = Sample.objects.filter(job=job)
    assert list(after.filter(turn=1).order_by("pk").values_list("pk", "turn", "text")) == first_turn
    assert after.filter(turn=2).count() == 6
    for prompt_id in after.values_list("prompt_id", flat=True).distinct():
        for turn in (1, 2):
            indexes = list(after.filter(prompt_id=prompt_id, turn=turn).values_list("index", flat=True))
            assert sorted(indexes) in ([], [0, 1, 2])
