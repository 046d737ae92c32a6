"""Generation jobs: validation before anything runs, chunked runs, resume, cancel, selection stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from core.chunked_run import chunked_job_claim
from core.jobs import STALE_SECONDS
from core.models import JobStatus
from generation import runner
from generation.models import GenerationChunk, GenerationJob, ModelSpec, Sample
from generation.params import DEFAULTS, GenerationParams
from generation.runner import generation_job_run
from generation.selection import select_response
from generation.services import (
    GenerationError,
    generation_job_cancel,
    generation_job_create,
    generation_job_retry,
    model_spec_register,
)

pytestmark = pytest.mark.django_db

FAST = GenerationParams(samples_per_prompt=3, max_new_tokens=8, temperature=0.9)


@pytest.fixture
def causal_spec(causal_dir) -> ModelSpec:
    return model_spec_register(name="tiny-causal", path=str(causal_dir))


@pytest.fixture
def seq2seq_spec(seq2seq_dir) -> ModelSpec:
    return model_spec_register(name="tiny-t5", path=str(seq2seq_dir))


def test_registering_a_saved_tiny_directory_detects_its_kind(causal_spec, seq2seq_spec):
    assert causal_spec.kind == "causal"
    assert seq2seq_spec.kind == "seq2seq"


def test_registering_a_missing_directory_or_a_taken_name_is_refused(causal_spec, tmp_path):
    with pytest.raises(GenerationError, match="does not exist"):
        model_spec_register(name="ghost", path=str(tmp_path / "nothing-here"))
    with pytest.raises(GenerationError, match="already registered"):
        model_spec_register(name="tiny-causal", path=str(tmp_path))


def test_a_hub_id_is_accepted_without_touching_the_network():
    spec = model_spec_register(name="flan", path="google/flan-t5-small", kind="seq2seq")
    assert spec.path == "google/flan-t5-small"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": -0.5}, "temperature"),
        ({"samples_per_prompt": 0}, "samples must be at least 1"),
        ({"samples_per_prompt": 65}, "samples must be at most 64"),
        ({"prompt_limit": 0}, "limit"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"selection_policy": "best"}, "selection policy"),
        ({"model": "no-such-model"}, "no model named 'no-such-model'"),
        ({"eval_set": "no-such-set"}, "no evaluation set named"),
    ],
)
def test_bad_parameters_are_rejected_before_any_job_exists(causal_spec, eval_set_factory, overrides, message):
    eval_set_factory()
    where = {"model": "tiny-causal", "eval_set": "demo"}
    arguments = {name: overrides.get(name, value) for name, value in where.items()}
    params = replace(DEFAULTS, **{name: value for name, value in overrides.items() if name not in where})
    with pytest.raises(GenerationError, match=message):
        generation_job_create(**arguments, params=params)
    assert not GenerationJob.objects.exists()


def test_a_model_whose_directory_vanished_is_rejected_before_anything_runs(eval_set_factory, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    ModelSpec.objects.create(name="gone", path=str(folder), kind="causal")
    folder.rmdir()
    eval_set_factory()
    with pytest.raises(GenerationError, match="does not exist"):
        generation_job_create(model="gone", eval_set="demo")


def test_an_external_model_cannot_be_generated_from(eval_set_factory):
    ModelSpec.objects.create(name="api-model", source=ModelSpec.Source.EXTERNAL)
    eval_set_factory()
    with pytest.raises(GenerationError, match="external"):
        generation_job_create(model="api-model", eval_set="demo")


def test_creating_a_job_cuts_its_prompts_into_chunks_and_enqueues_on_commit(
    causal_spec, eval_set_factory, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[int] = []
    from generation import tasks

    monkeypatch.setattr(tasks.generation_job_run_task, "delay", sent.append)
    eval_set_factory(count=5)
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_create(
            model="tiny-causal", eval_set="demo", params=replace(DEFAULTS, chunk_size=2), workers=2
        )
    assert sent == [job.pk, job.pk]
    assert list(job.chunks.values_list("start", "end")) == [(0, 2), (2, 4), (4, 5)]
    assert job.prompts_total == 5


@pytest.mark.parametrize("spec_fixture", ["causal_spec", "seq2seq_spec"])
def test_a_job_stores_k_samples_per_prompt_with_the_selection_applied(
    spec_fixture, request, eval_set_factory
):
    spec = request.getfixturevalue(spec_fixture)
    eval_set_factory(count=4)
    job = generation_job_create(
        model=spec, eval_set="demo", params=replace(FAST, chunk_size=3), enqueue=False
    )
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE, job.error
    assert job.prompts_done == 4
    assert job.tokens_generated == sum(Sample.objects.filter(job=job).values_list("num_tokens", flat=True))
    assert job.tokens_per_second and job.tokens_per_second > 0
    assert job.engine.startswith("fast")
    for prompt in job.eval_set.prompts.all():
        samples = list(Sample.objects.filter(job=job, prompt=prompt).order_by("index"))
        assert [s.index for s in samples] == [0, 1, 2]
        decision = select_response([s.logprob_sum for s in samples if s.logprob_sum is not None])
        assert [s.kept for s in samples] == [i in decision.kept for i in range(3)]
        assert [s.selected for s in samples] == [i == decision.index for i in range(3)]
        assert [s.threshold for s in samples] == [decision.threshold] * 3
        assert all(s.prompt_token_ids and s.num_tokens == len(s.token_ids) for s in samples)


def test_every_stored_score_matches_a_teacher_forced_rescoring_by_the_same_model(
    causal_spec, eval_set_factory
):
    from generation.engine import Engine
    from tests.generation.conftest import rescore

    eval_set_factory(count=3)
    job = generation_job_create(model=causal_spec, eval_set="demo", params=FAST, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    # A failed job stores no samples, and the loop below would then check nothing.
    assert job.status == JobStatus.DONE, job.error
    samples = list(Sample.objects.filter(job=job))
    assert len(samples) == 3 * FAST.samples_per_prompt
    model = Engine.load(causal_spec.path, device="cpu").model
    for sample in samples:
        assert sample.logprob_sum is not None
        expected = rescore(model, "causal", sample.prompt_token_ids, sample.token_ids)
        assert sample.logprob_sum == pytest.approx(expected, abs=1e-4)


def test_the_same_set_in_other_database_rows_samples_the_same_answers(causal_spec, eval_set_factory):
    first_set = eval_set_factory(name="first", count=4)
    eval_set_factory(name="filler", count=3)  # the second copy's rows get other primary keys
    second_set = eval_set_factory(name="second", count=4)
    answers = []
    for eval_set in (first_set, second_set):
        job = generation_job_create(
            model=causal_spec, eval_set=eval_set.name, params=replace(FAST, seed=5), enqueue=False
        )
        generation_job_run(job_id=job.pk)
        rows = Sample.objects.filter(job=job).order_by("prompt__uid", "index")
        answers.append([(s.prompt.uid, s.index, tuple(s.token_ids)) for s in rows.select_related("prompt")])
    assert {pk for pk in first_set.prompts.values_list("pk", flat=True)}.isdisjoint(
        second_set.prompts.values_list("pk", flat=True)
    )
    assert len(answers[0]) == 12 and answers[0] == answers[1]


def test_the_limit_option_only_runs_the_first_prompts(causal_spec, eval_set_factory):
    eval_set_factory(count=5)
    job = generation_job_create(
        model=causal_spec, eval_set="demo", params=replace(FAST, prompt_limit=2), enqueue=False
    )
    generation_job_run(job_id=job.pk)
    assert set(Sample.objects.filter(job=job).values_list("prompt__uid", flat=True)) == {"p0", "p1"}


def test_a_job_killed_half_way_and_run_again_ends_with_exactly_k_samples_per_prompt(
    causal_spec, eval_set_factory, monkeypatch
):
    eval_set_factory(count=6)
    job = generation_job_create(
        model=causal_spec, eval_set="demo", params=replace(FAST, chunk_size=4), enqueue=False
    )
    real_commit = runner._prompt_commit
    calls = {"n": 0}

    def crashing_commit(**kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("worker lost")
        return real_commit(**kwargs)

    monkeypatch.setattr(runner, "_prompt_commit", crashing_commit)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.FAILED
    assert "worker lost" in job.error
    assert job.prompts_done == 3
    assert Sample.objects.filter(job=job).count() == 9

    monkeypatch.setattr(runner, "_prompt_commit", real_commit)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE
    assert job.error == ""
    assert job.prompts_done == 6
    for prompt in job.eval_set.prompts.all():
        assert sorted(Sample.objects.filter(job=job, prompt=prompt).values_list("index", flat=True)) == [
            0,
            1,
            2,
        ]


def test_a_prompt_already_committed_is_never_written_twice(causal_spec, eval_set_factory):
    eval_set_factory(count=2)
    job = generation_job_create(model=causal_spec, eval_set="demo", params=FAST, enqueue=False)
    generation_job_run(job_id=job.pk)
    before = list(Sample.objects.filter(job=job).order_by("pk").values_list("pk", "text"))
    # A redelivered task after a crash: the chunks are handed out again, the prompts are skipped.
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    job.chunks.update(status=GenerationChunk.Status.PENDING)
    generation_job_run(job_id=job.pk)
    assert list(Sample.objects.filter(job=job).order_by("pk").values_list("pk", "text")) == before


def test_a_chunk_whose_worker_stopped_heartbeating_is_taken_over(causal_spec, eval_set_factory):
    eval_set_factory(count=4)
    job = generation_job_create(
        model=causal_spec, eval_set="demo", params=replace(FAST, chunk_size=2), enqueue=False
    )
    held = chunked_job_claim(job=job, worker="worker-a")
    assert held is not None and held.index == 0
    job = generation_job_run(job_id=job.pk, worker="worker-b")
    assert job.status == JobStatus.RUNNING  # chunk 0 is still being worked on elsewhere
    assert job.prompts_done == 2
    GenerationChunk.objects.filter(pk=held.pk).update(
        heartbeat=timezone.now() - timedelta(seconds=STALE_SECONDS + 1)
    )
    job = generation_job_run(job_id=job.pk, worker="worker-b")
    assert job.status == JobStatus.DONE
    assert Sample.objects.filter(job=job).count() == 12


def test_cancelling_a_queued_job_stops_it_before_it_starts(causal_spec, eval_set_factory):
    eval_set_factory(count=2)
    job = generation_job_create(model=causal_spec, eval_set="demo", params=FAST, enqueue=False)
    generation_job_cancel(job=job)
    assert job.status == JobStatus.CANCELLED
    assert generation_job_run(job_id=job.pk).status == JobStatus.CANCELLED
    assert not Sample.objects.filter(job=job).exists()


def test_a_cancel_requested_while_running_is_honoured_between_chunks_and_retry_resumes(
    causal_spec, eval_set_factory, monkeypatch
):
    eval_set_factory(count=4)
    job = generation_job_create(
        model=causal_spec, eval_set="demo", params=replace(FAST, chunk_size=2), enqueue=False
    )
    real_commit = runner._prompt_commit

    def commit_then_cancel(**kwargs):
        GenerationJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        return real_commit(**kwargs)

    monkeypatch.setattr(runner, "_prompt_commit", commit_then_cancel)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.CANCELLED
    assert 0 < job.prompts_done < 4
    monkeypatch.setattr(runner, "_prompt_commit", real_commit)
    job = generation_job_retry(job=job, enqueue=False)
    assert job.status == JobStatus.QUEUED
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE
    assert Sample.objects.filter(job=job).count() == 12


def test_only_failed_cancelled_or_stalled_jobs_can_be_retried(causal_spec, eval_set_factory):
    eval_set_factory(count=1)
    job = generation_job_create(model=causal_spec, eval_set="demo", params=FAST, enqueue=False)
    with pytest.raises(GenerationError, match="only failed"):
        generation_job_retry(job=job)


def test_the_task_runs_the_job_by_its_id(causal_spec, eval_set_factory):
    from generation.tasks import generation_job_run_task

    eval_set_factory(count=2)
    job = generation_job_create(model=causal_spec, eval_set="demo", params=FAST, enqueue=False)
    assert generation_job_run_task.apply(args=(job.pk,)).get() == JobStatus.DONE
    assert Sample.objects.filter(job=job).count() == 6


def test_a_job_on_an_architecture_the_fast_path_cannot_serve_records_the_generate_fallback(
    causal_spec, eval_set_factory, monkeypatch
):
    from generation.engine import Engine

    def unsupported(self, batch, params):
        raise NotImplementedError("no shared cache")

    monkeypatch.setattr(Engine, "_fast_batch", unsupported)
    runner._ENGINES.clear()
    eval_set_factory(count=2)
    job = generation_job_create(model=causal_spec, eval_set="demo", params=FAST, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    runner._ENGINES.clear()  # the engine switched paths for good; later tests load afresh
    assert job.status == JobStatus.DONE
    assert job.engine == "generate fallback (NotImplementedError)"
    assert Sample.objects.filter(job=job).count() == 6


def test_nul_characters_in_model_output_are_stored_as_replacement_characters(causal_spec, eval_set_factory):
    from generation.sampling import GeneratedSample, PromptResult

    eval_set = eval_set_factory(count=1)
    job = generation_job_create(
        model=causal_spec, eval_set="demo", params=replace(DEFAULTS, samples_per_prompt=1), enqueue=False
    )
    result = PromptResult(
        key="x", prompt_token_ids=[5], samples=[GeneratedSample("a\x00b", [100, 3, 101], -3.0, "length")]
    )
    stats = {"tokens": 0.0, "t0": 0.0, "chunk_id": 0}
    assert runner._prompt_commit(job=job, prompt=eval_set.prompts.get(), result=result, run_stats=stats)
    sample = Sample.objects.get(job=job)
    assert sample.text == "a\ufffdb"
    assert sample.token_ids == [100, 3, 101]


def test_a_peft_adapter_directory_gets_its_kind_from_the_adapter_config(tmp_path):
    (tmp_path / "adapter_config.json").write_text(
        '{"task_type": "CAUSAL_LM", "base_model_name_or_path": "x"}'
    )
    spec = model_spec_register(name="adapter", path=str(tmp_path), source=ModelSpec.Source.FINETUNE)
    assert (spec.kind, spec.source) == ("causal", "finetune")


def test_a_job_of_the_none_policy_stores_no_threshold(causal_spec, eval_set_factory):
    eval_set_factory(count=1)
    job = generation_job_create(
        model=causal_spec, eval_set="demo", params=replace(FAST, selection_policy="none"), enqueue=False
    )
    generation_job_run(job_id=job.pk)
    assert list(Sample.objects.filter(job=job).values_list("threshold", flat=True)) == [None] * 3


def test_registering_a_directory_whose_config_is_broken_says_which_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(GenerationError, match=r"config\.json"):
        model_spec_register(name="broken", path=str(tmp_path))
