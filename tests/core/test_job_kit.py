"""core's chunked-job kit, seen through both kinds of job that use it: generation jobs and judge runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from annotate.models import Campaign
from core.jobs import STALE_SECONDS, chunked_job_retryable, chunks_create, job_cancel, job_requeue
from core.models import JOB_STALE_SECONDS, ChunkStatus, JobStatus
from eval_sets.models import EvalSet
from generation.models import GenerationJob, ModelSpec
from judging.models import JudgeRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def eval_set() -> EvalSet:
    return EvalSet.objects.create(name="kit", version=1, content_hash="kit-1", source_format="jsonl")


@pytest.fixture
def job(eval_set: EvalSet) -> GenerationJob:
    spec = ModelSpec.objects.create(name="hub-model", path="org/model")  # a Hub id: no folder to check
    job = GenerationJob.objects.create(model=spec, eval_set=eval_set, prompts_total=5)
    chunks_create(chunks=job.chunks, total=5, chunk_size=2)
    return job


@pytest.fixture
def run(eval_set: EvalSet) -> JudgeRun:
    campaign = Campaign.objects.create(name="kit-campaign", eval_set=eval_set)
    run = JudgeRun.objects.create(campaign=campaign, name="kit-judge", items_total=3)
    chunks_create(chunks=run.chunks, total=3, chunk_size=2)
    return run


def test_chunks_cover_the_items_in_order_and_name_their_job_as_its_kind_does(job, run):
    assert list(job.chunks.values_list("index", "start", "end")) == [(0, 0, 2), (1, 2, 4), (2, 4, 5)]
    assert list(run.chunks.values_list("index", "start", "end")) == [(0, 0, 2), (1, 2, 3)]
    assert str(job.chunks.get(index=2)) == f"chunk 2 of job {job.pk}"
    assert str(run.chunks.get(index=1)) == f"chunk 1 of judge run {run.pk}"


def test_a_requeued_job_keeps_its_done_chunks_and_frees_the_others(job):
    job.chunks.filter(index=0).update(status=ChunkStatus.DONE, worker="w1")
    job.chunks.filter(index=1).update(status=ChunkStatus.RUNNING, worker="w2", heartbeat=timezone.now())
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, error="boom", cancel_requested=True
    )
    job.refresh_from_db()
    enqueued: list[int] = []
    job_requeue(job=job, enqueue=lambda: enqueued.append(job.pk))
    assert (job.status, job.error, job.cancel_requested, job.finished) == (JobStatus.QUEUED, "", False, None)
    assert list(job.chunks.order_by("index").values_list("status", "worker", "heartbeat")) == [
        (ChunkStatus.DONE, "w1", None),
        (ChunkStatus.PENDING, "", None),
        (ChunkStatus.PENDING, "", None),
    ]
    assert enqueued == [job.pk]


def test_a_running_job_may_be_retried_only_once_its_worker_has_gone_quiet(job):
    job.status, job.heartbeat = JobStatus.RUNNING, timezone.now()
    assert not chunked_job_retryable(job=job)
    job.heartbeat = timezone.now() - timedelta(seconds=STALE_SECONDS + 1)
    assert chunked_job_retryable(job=job)
    job.status = JobStatus.DONE
    assert not chunked_job_retryable(job=job)


@pytest.mark.parametrize(
    ("kind", "name", "cancelled", "requeued", "refused"),
    [
        (
            "job",
            "generation:job",
            "Cancellation of job {pk} requested.",
            "Job {pk} queued again; finished prompts are kept.",
            "job {pk} is queued: only failed, cancelled or stalled jobs can be retried",
        ),
        (
            "run",
            "judging:run",
            "Cancellation of judge run {pk} requested.",
            "Judge run {pk} queued again; stored verdicts are kept.",
            "run {pk} is queued: only failed, cancelled or stalled runs can be retried",
        ),
    ],
)
def test_cancel_and_retry_say_what_they_did_on_the_job_page(
    researcher_client, request, kind, name, cancelled, requeued, refused
):
    item = request.getfixturevalue(kind)
    pk = item.pk

    def post(action: str) -> str:
        response = researcher_client.post(reverse(f"{name}_{action}", args=[pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse(f"{name}_detail", args=[pk])
        return response.content.decode()

    page = post("cancel")
    assert cancelled.format(pk=pk) in page
    item.refresh_from_db()
    assert item.status == JobStatus.CANCELLED and item.cancel_requested
    assert "Retry (keeps" in page  # the status card offers what the service allows
    assert requeued.format(pk=pk) in post("retry")
    item.refresh_from_db()
    assert item.status == JobStatus.QUEUED and not item.cancel_requested
    assert refused.format(pk=pk) in post("retry")
    status = researcher_client.get(reverse(f"{name}_status", args=[pk])).json()
    assert {"id", "status", "prompts_done", "prompts_total", "tokens_per_second", "error"} <= set(status)
    assert (status["id"], status["status"]) == (pk, JobStatus.QUEUED)


def test_an_imported_run_offers_no_retry_and_refuses_one(researcher_client, run):
    JudgeRun.objects.filter(pk=run.pk).update(source=JudgeRun.Source.IMPORT, status=JobStatus.FAILED)
    page = researcher_client.get(reverse("judging:run_detail", args=[run.pk])).content.decode()
    assert "Retry (keeps" not in page
    response = researcher_client.post(reverse("judging:run_retry", args=[run.pk]), follow=True)
    assert "an imported run has nothing to retry: import the file again" in response.content.decode()


def test_raters_reach_none_of_the_job_actions(rater_client, job, run):
    for name, pk in (("generation:job", job.pk), ("judging:run", run.pk)):
        assert rater_client.get(reverse(f"{name}_status", args=[pk])).status_code == 403
        for action in ("cancel", "retry"):
            assert rater_client.post(reverse(f"{name}_{action}", args=[pk])).status_code == 403
    assert GenerationJob.objects.get(pk=job.pk).status == JobStatus.QUEUED


def _killed(item, seconds_ago: float) -> None:
    """What kill -9 leaves: the job and a chunk 'running', heartbeats gone quiet `seconds_ago`."""
    then = timezone.now() - timedelta(seconds=seconds_ago)
    type(item).objects.filter(pk=item.pk).update(status=JobStatus.RUNNING, heartbeat=then)
    item.chunks.filter(index=0).update(status=ChunkStatus.RUNNING, worker="dead:1", heartbeat=then)
    item.refresh_from_db()


@pytest.mark.parametrize(("kind", "name"), [("job", "generation:job"), ("run", "judging:run")])
def test_a_job_whose_worker_was_killed_minutes_ago_can_be_cancelled_and_retried_from_its_page(
    researcher_client, request, kind, name
):
    item = request.getfixturevalue(kind)
    _killed(item, JOB_STALE_SECONDS + 30)  # two and a half minutes, not half an hour
    page = researcher_client.get(reverse(f"{name}_detail", args=[item.pk])).content.decode()
    assert "Retry (keeps" in page and ">Cancel<" in page and "probably died" in page
    researcher_client.post(reverse(f"{name}_cancel", args=[item.pk]))
    item.refresh_from_db()
    assert item.status == JobStatus.CANCELLED
    assert not item.chunks.filter(status=ChunkStatus.RUNNING).exists()
    researcher_client.post(reverse(f"{name}_retry", args=[item.pk]))
    item.refresh_from_db()
    assert item.status == JobStatus.QUEUED


def test_a_job_heard_from_within_two_minutes_is_only_asked_to_stop_and_cannot_be_retried(job):
    _killed(job, 30)
    assert not chunked_job_retryable(job=job)
    job = job_cancel(job=job)
    assert job.status == JobStatus.RUNNING and job.cancel_requested


def test_the_commands_cancel_and_retry_a_job_whose_worker_went_quiet(job, capsys):
    _killed(job, JOB_STALE_SECONDS + 30)
    call_command("retry_job", str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and "queued again" in capsys.readouterr().out
    _killed(job, JOB_STALE_SECONDS + 30)
    call_command("cancel_job", str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    with pytest.raises(CommandError, match="only failed, cancelled or stalled"):
        _killed(job, 5)
        call_command("retry_job", str(job.pk))
