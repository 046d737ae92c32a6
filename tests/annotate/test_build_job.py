"""A large campaign built as a job (issue 31): batch by batch, under the "building" state, resumable.

The job writes the rows a build in one transaction writes for the same seed; each batch commits
with the job's count, so a worker killed mid-batch leaves whole batches and a retry writes the rest
once. Nothing is served from a building campaign, nobody can open it, and its page shows the line.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotate import build_jobs
from annotate.build_models import CampaignBuild
from annotate.build_runner import campaign_build_run
from annotate.models import Campaign, Comparison
from annotate.rater_access import rater_campaigns
from annotate.recruiting import links, steps
from annotate.services import CampaignError, campaign_create, campaign_status_set
from annotate.services import comparison_batches as batches
from annotate.services.campaign_edit import CampaignEditError, campaign_edit
from core.models import JobStatus
from eval_sets.models import EvalSet
from generation.models import ModelSpec
from tests.factories import make_eval_set, make_system

pytestmark = pytest.mark.django_db

SYSTEMS = ("sys-a", "sys-b", "sys-c")
BATCH = 7
FIELDS = (
    "prompt_id", "turn", "system_a_id", "system_b_id", "sample_a_id", "sample_b_id", "system_on_left",
    "needed", "order_key",
)  # fmt: skip


@pytest.fixture
def answered() -> EvalSet:
    eval_set = make_eval_set(name="big", n_prompts=20)
    for name in SYSTEMS:
        make_system(name, eval_set)
    return eval_set


@pytest.fixture(autouse=True)
def _small_batches_and_no_broker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Batches of 7 rows (60 comparisons: nine batches); the queued task is noted, not sent."""
    monkeypatch.setattr(batches, "BATCH_SIZE", BATCH)
    queued: list[int] = []
    from annotate.build_tasks import campaign_build_task

    monkeypatch.setattr(campaign_build_task, "delay", queued.append)
    return queued


def _draft(eval_set: EvalSet, name: str = "job", **kwargs: Any) -> Campaign:
    kwargs.setdefault("build", False)
    return campaign_create(
        name=name, eval_set=eval_set, systems=list(SYSTEMS), overlap=0.2, ratings_per_comparison=2, **kwargs
    )


def _rows(campaign: Campaign) -> list[tuple]:
    return list(Comparison.objects.filter(campaign=campaign).order_by("pk").values_list(*FIELDS))


def _reference(eval_set: EvalSet, seed: int) -> list[tuple]:
    """The same campaign built in one transaction, as create_campaign builds it."""
    return _rows(_draft(eval_set, name="reference", build=True, seed=seed))


def _drift(campaign: Campaign) -> str:
    out = io.StringIO()
    call_command("serving_check", "--campaign", campaign.name, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_a_build_job_writes_the_rows_a_build_in_one_transaction_writes_for_the_same_seed(answered):
    campaign = _draft(answered)
    build = build_jobs.campaign_build_start(campaign=campaign, seed=11)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.BUILDING
    build = campaign_build_run(build_id=build.pk)
    assert (build.status, build.done, build.total) == (JobStatus.DONE, 60, 60)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and campaign.built is not None
    assert _rows(campaign) == _reference(answered, seed=11)
    assert _drift(campaign) == "drift=0"


def test_a_stop_when_settled_campaign_built_by_a_job_has_every_comparison_in_its_cell(answered):
    campaign = _draft(answered, stop_when_settled=True)
    build = campaign_build_run(build_id=build_jobs.campaign_build_start(campaign=campaign, seed=4).pk)
    assert build.status == JobStatus.DONE
    rows = Comparison.objects.filter(campaign=campaign)
    assert rows.count() == 60 and not rows.filter(cell__isnull=True, gold_answer__isnull=True).exists()
    assert _drift(campaign) == "drift=0"  # the cells' counters included


def test_a_build_killed_mid_batch_keeps_whole_batches_says_why_and_a_retry_writes_the_rest_once(
    answered, monkeypatch, _small_batches_and_no_broker, django_capture_on_commit_callbacks
):
    campaign = _draft(answered)
    build = build_jobs.campaign_build_start(campaign=campaign, seed=5, open_when_built=True)
    real_write = batches.ComparisonBatches._bulk_create
    real_copy = batches.ComparisonBatches._copy
    calls = {"n": 0}

    def killed_on_the_fourth_batch(real: Any) -> Any:
        def write(self: Any, rows: Any) -> None:
            calls["n"] += 1
            real(self, rows)  # the rows are written, then the worker dies before the batch commits
            if calls["n"] == 4:
                raise SystemExit("worker killed")

        return write

    monkeypatch.setattr(batches.ComparisonBatches, "_bulk_create", killed_on_the_fourth_batch(real_write))
    monkeypatch.setattr(batches.ComparisonBatches, "_copy", killed_on_the_fourth_batch(real_copy))
    with pytest.raises(SystemExit):
        campaign_build_run(build_id=build.pk)
    build.refresh_from_db()
    assert build.status == JobStatus.FAILED and "worker killed" in build.error
    assert build.done == 3 * BATCH == Comparison.objects.filter(campaign=campaign).count()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.BUILDING

    monkeypatch.setattr(batches.ComparisonBatches, "_bulk_create", real_write)
    monkeypatch.setattr(batches.ComparisonBatches, "_copy", real_copy)
    with django_capture_on_commit_callbacks(execute=True):
        build_jobs.campaign_build_retry(job=build)
    assert _small_batches_and_no_broker[-1] == build.pk  # queued again after the commit
    build = campaign_build_run(build_id=build.pk)
    assert (build.status, build.done, build.error) == (JobStatus.DONE, 60, "")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN  # as the researcher asked at creation
    assert _rows(campaign) == _reference(answered, seed=5)
    assert _drift(campaign) == "drift=0"


def test_a_cancelled_build_stops_after_a_batch_and_a_retry_resumes_it(answered):
    campaign = _draft(answered)
    build = build_jobs.campaign_build_start(campaign=campaign, seed=3)

    real_flush = batches.ComparisonBatches.flush

    def flush(self: Any) -> None:  # the researcher presses Cancel while the third batch is written
        real_flush(self)
        if self.written == 2 * BATCH:
            CampaignBuild.objects.filter(pk=build.pk).update(cancel_requested=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batches.ComparisonBatches, "flush", flush)
        build = campaign_build_run(build_id=build.pk)
    assert build.status == JobStatus.CANCELLED and build.done == 3 * BATCH
    assert build.offers_retry
    build = campaign_build_run(build_id=build_jobs.campaign_build_retry(job=build).pk)
    assert build.status == JobStatus.DONE
    assert _rows(campaign) == _reference(answered, seed=3)


def test_a_building_campaign_is_served_to_nobody_and_cannot_be_opened_or_entered(answered, make_rater):
    rater = make_rater("rita")
    campaign = _draft(answered, raters=[rater])
    build_jobs.campaign_build_start(campaign=campaign, seed=1)
    campaign.refresh_from_db()
    assert not rater_campaigns(rater=rater).exists()
    for status in (Campaign.Status.OPEN, Campaign.Status.CLOSED, Campaign.Status.DRAFT):
        with pytest.raises(CampaignError, match="still being built"):
            campaign_status_set(campaign=campaign, status=status)
    recruiting = steps.recruiting_of(campaign)
    recruiting.accept_external = True
    recruiting.save()
    with pytest.raises(links.LinkError, match="not open"):
        links.external_check(
            entry_token=recruiting.entry_token, query={"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e"}
        )
    with pytest.raises(CampaignError, match="already built or being built"):
        build_jobs.campaign_build_start(campaign=campaign)


def test_ratings_per_comparison_cannot_change_while_the_build_draws_each_rows_needed(answered):
    campaign = _draft(answered)
    build_jobs.campaign_build_start(campaign=campaign, seed=1)
    with pytest.raises(CampaignEditError, match="still being built"):
        campaign_edit(campaign=campaign, changed_by=None, ratings_per_comparison=3)
    assert campaign_edit(campaign=campaign, changed_by=None, title="Rate these")  # other fields may change


def test_only_a_build_job_puts_a_campaign_in_the_building_state(answered):
    campaign = _draft(answered)
    with pytest.raises(CampaignError, match="only a build job"):
        campaign_status_set(campaign=campaign, status=Campaign.Status.BUILDING)


def test_the_campaign_page_shows_the_build_line_while_building_and_the_status_json_sends_it(
    answered, researcher_client, monkeypatch
):
    campaign = _draft(answered)
    build = build_jobs.campaign_build_start(campaign=campaign, seed=2)
    CampaignBuild.objects.filter(pk=build.pk).update(status=JobStatus.RUNNING, done=430_000, total=1_000_000)
    page = researcher_client.get(reverse("hub:campaign_detail", args=[campaign.pk])).content.decode()
    assert "Building: 430,000 of 1,000,000 comparisons" in page
    assert "Mark open" not in page
    status = researcher_client.get(reverse("annotate:campaign_build_status", args=[build.pk])).json()
    assert status["line"] == "Building: 430,000 of 1,000,000 comparisons" and status["status"] == "running"


def test_the_form_builds_a_small_campaign_in_the_request_and_a_large_one_as_a_job(
    answered, researcher_client, monkeypatch, _small_batches_and_no_broker, django_capture_on_commit_callbacks
):
    ids = list(ModelSpec.objects.filter(name__in=SYSTEMS).values_list("pk", flat=True))
    data = {
        "eval_set": answered.pk, "systems": ids, "pairing": "all_pairs", "ratings_per_comparison": 1,
        "overlap": 0, "gold_fraction": 0, "instructions": "Be fair.", "min_seconds": 2,
    }  # fmt: skip
    small = researcher_client.post(reverse("annotate:campaign_new"), {**data, "name": "small"})
    assert small.status_code == 302
    assert Campaign.objects.get(name="small").comparisons.count() == 60
    monkeypatch.setattr(build_jobs, "BUILD_IN_REQUEST_MAX", 59)
    with django_capture_on_commit_callbacks(execute=True):
        large = researcher_client.post(
            reverse("annotate:campaign_new"), {**data, "name": "large", "open_now": "on"}
        )
    campaign = Campaign.objects.get(name="large")
    assert large.status_code == 302 and campaign.status == Campaign.Status.BUILDING
    assert not campaign.comparisons.exists() and _small_batches_and_no_broker == [campaign.build.pk]
    assert campaign.build.open_when_built
