"""Generation through a REAL vLLM server (CPU build from .venv-vllm), scored against our rescoring.

The server is started once per session (conftest `vllm_server`); without .venv-vllm these skip.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import STALE_SECONDS
from core.models import JobStatus
from generation import runner
from generation.models import GenerationChunk, GenerationJob, ModelSpec, Sample
from generation.params import GenerationParams
from generation.runner import generation_job_run
from generation.selection import select_response
from generation.services import generation_job_create, model_spec_register_served
from tests.generation.conftest import rescore

pytestmark = [pytest.mark.django_db, pytest.mark.vllm, pytest.mark.usefixtures("served_loopback")]

# Six prompts x five samples of at most 32 tokens: the tiny served model ends some samples by EOS,
# some by the stop string and some by length (tiny_served_causal).
JOB = GenerationParams(samples_per_prompt=5, max_new_tokens=32, temperature=0.7, seed=11)
EOS = 1
ENDINGS = {"eos", "stop", "length"}


@pytest.fixture
def served_spec(vllm_server) -> ModelSpec:
    return model_spec_register_served(
        name="tiny-vllm", base_url=vllm_server.base_url, served_model=vllm_server.served_model
    )


@pytest.fixture(scope="module")
def reference_model(vllm_server):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(vllm_server.model_dir, dtype="float32").eval()


def test_every_stored_score_equals_our_teacher_forced_rescoring_for_eos_stop_and_length(
    served_spec, eval_set_factory, reference_model
):
    eval_set_factory(count=6, stop=["z"])
    worst: dict[str, float] = {}
    reasons: Counter[str] = Counter()
    # EOS is the rarest ending; a job is fixed by its seed, so a few seeds in turn reach all three
    # endings whatever vLLM's sampler draws for one of them.
    for seed in range(11, 15):
        job = generation_job_create(
            model=served_spec, eval_set="demo", params=replace(JOB, seed=seed), enqueue=False
        )
        job = generation_job_run(job_id=job.pk)
        assert job.status == JobStatus.DONE, job.error
        assert job.engine.startswith("served completions")
        samples = list(Sample.objects.filter(job=job))
        assert len(samples) == 30
        for s in samples:
            assert s.prompt_token_ids and s.prompt_token_ids[-1] != EOS  # sent as ids, no </s> appended
            assert s.num_tokens == len(s.token_ids) > 0
            ours = rescore(reference_model, "causal", s.prompt_token_ids, s.token_ids)
            assert s.logprob_sum is not None
            assert s.logprob_sum == pytest.approx(ours, abs=1e-3)
            worst[s.finish_reason] = max(worst.get(s.finish_reason, 0.0), abs(ours - s.logprob_sum))
            if s.finish_reason == "eos":
                assert s.token_ids[-1] == EOS  # the ending token is scored
            elif s.finish_reason == "stop":
                assert s.token_ids[-1] == ord("z") + 3 and "z" not in s.text  # ByT5 byte + 3; cut before it
            else:
                assert s.num_tokens == JOB.max_new_tokens
                assert EOS not in s.token_ids
        reasons.update(s.finish_reason for s in samples)
        if set(worst) == ENDINGS:
            break
    assert set(worst) == ENDINGS, reasons
    print("vllm exactness max |diff| by finish reason:", worst, "over", reasons)


def test_five_samples_per_prompt_with_the_papers_selection_applied(served_spec, eval_set_factory):
    eval_set_factory(count=4)
    job = generation_job_create(model=served_spec, eval_set="demo", params=JOB, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE, job.error
    distinct_per_prompt: list[int] = []
    for prompt in job.eval_set.prompts.all():
        rows = list(Sample.objects.filter(job=job, prompt=prompt).order_by("index"))
        assert [r.index for r in rows] == [0, 1, 2, 3, 4]
        expected = select_response([float(r.logprob_sum or 0) for r in rows])
        assert all(r.logprob_sum is not None for r in rows)
        assert [r.kept for r in rows] == [i in expected.kept for i in range(5)]
        assert [r.selected for r in rows] == [i == expected.index for i in range(5)]
        assert rows[0].threshold == pytest.approx(expected.threshold)
        distinct_per_prompt.append(len({tuple(r.token_ids) for r in rows}))
    # n samples, not one repeated: a tiny random model may give one prompt five equal short answers
    # (one token, then EOS) by chance, but not every prompt.
    assert max(distinct_per_prompt) > 1, distinct_per_prompt


def test_a_worker_killed_mid_job_resumes_on_another_without_duplicate_samples(
    served_spec, eval_set_factory, monkeypatch
):
    eval_set_factory(count=8)
    job = generation_job_create(
        model=served_spec, eval_set="demo", params=replace(JOB, chunk_size=4), enqueue=False
    )
    real_commit = runner._prompt_commit
    calls = {"n": 0}

    def dying_commit(**kwargs):
        calls["n"] += 1
        if calls["n"] > 3:  # the fourth answer arrives while other requests are still in flight
            raise SystemExit("worker killed")
        return real_commit(**kwargs)

    monkeypatch.setattr(runner, "_prompt_commit", dying_commit)
    with pytest.raises(SystemExit):
        generation_job_run(job_id=job.pk, worker="worker-a")
    before = {(s.prompt_id, s.index): (s.pk, s.text) for s in Sample.objects.filter(job=job)}
    assert len(before) == 15
    # What a hard kill leaves behind: the job and its chunk "running", heartbeats gone quiet.
    old = timezone.now() - timedelta(seconds=STALE_SECONDS + 60)
    GenerationChunk.objects.filter(job=job, index=0).update(
        status="running", worker="worker-a", heartbeat=old
    )
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat=old)

    monkeypatch.setattr(runner, "_prompt_commit", real_commit)
    job = generation_job_run(job_id=job.pk, worker="worker-b")
    assert job.status == JobStatus.DONE, job.error
    assert job.prompts_done == 8
    rows = list(Sample.objects.filter(job=job))
    assert len(rows) == 40
    assert Counter(r.prompt_id for r in rows) == {p.pk: 5 for p in job.eval_set.prompts.all()}
    after = {(s.prompt_id, s.index): (s.pk, s.text) for s in rows}
    assert all(after[key] == value for key, value in before.items())  # finished prompts never redone
