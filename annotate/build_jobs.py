"""Building a large campaign as a job (issue 31): start it, cancel it, retry it, read its progress.

A campaign of a million comparisons takes about a minute to build, too long for a request, and as
one transaction it shows nothing until it commits. So above `BUILD_IN_REQUEST_MAX` comparisons the
web form puts the campaign in the "building" state and queues a `CampaignBuild` job
(annotate.build_runner writes the rows, a batch committed at a time); the campaign page shows
"Building: 430,000 of 1,000,000 comparisons" meanwhile. Nothing is served from a building campaign
and it cannot be opened (annotate.campaign_status) until the job is done.

Not in annotate.services: these queue the build's task, whose runner uses the services, and the
services already reach annotate.tasks (settling); keeping them apart keeps the imports acyclic.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from annotate.build_models import CampaignBuild
from annotate.errors import CampaignError
from annotate.models import Campaign
from core.errors import RequestError
from core.jobs import chunked_job_retryable, job_cancel, job_requeue, job_status_payload
from eval_sets.models import EvalSet, Prompt

# Up to this many comparisons the form builds in the request, as it always did (about two seconds of
# writing on these two cores, so the researcher lands on a finished campaign); above it, a job.
BUILD_IN_REQUEST_MAX = 20_000


def campaign_build_estimate(
    *,
    eval_set: EvalSet,
    systems: int,
    vs_baseline: bool,
    sample: int | None = None,
    categories: Sequence[str] = (),
) -> int:
    """About how many comparisons a campaign's build writes: the prompts it may draw times its pairs.

    Read before the campaign exists (the form decides from it where to build); turns are not counted.
    """
    prompts = Prompt.objects.filter(eval_set=eval_set)
    wanted = [c for c in categories if c]
    if wanted:
        prompts = prompts.filter(category__in=wanted)
    n = prompts.count()
    if sample is not None:
        n = min(n, sample)
    return n * ((systems - 1) if vs_baseline else systems * (systems - 1) // 2)


def campaign_build_start(
    *,
    campaign: Campaign,
    seed: int | None = None,
    answered_only: bool = False,
    open_when_built: bool = False,
    created_by: User | None = None,
) -> CampaignBuild:
    """Put an unbuilt campaign in the building state and queue its build (after this transaction commits).

    Without a seed one is drawn and kept on the job: a resumed build must draw the same rows. The seed
    goes through core.seeding's keyed generator, so knowing it tells a rater nothing.
    """
    if (
        campaign.comparisons.filter(gold_uploaded=False).exists()
        or CampaignBuild.objects.filter(campaign=campaign).exists()
    ):
        raise CampaignError(f"campaign {campaign.name!r} is already built or being built")
    if campaign.status != Campaign.Status.DRAFT:
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.status}: only a draft can be built")
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.BUILDING)
        campaign.status = Campaign.Status.BUILDING
        build = CampaignBuild.objects.create(
            campaign=campaign,
            seed=secrets.randbits(62) if seed is None else seed,
            answered_only=answered_only,
            open_when_built=open_when_built,
            created_by=created_by,
        )
        _enqueue(build.pk)
    return build


def _enqueue(build_id: int) -> None:
    from annotate.build_tasks import campaign_build_task

    transaction.on_commit(lambda: campaign_build_task.delay(build_id))


def campaign_build_cancel(*, job: CampaignBuild) -> CampaignBuild:
    """Stop the build after its current batch; the campaign stays building, and a retry resumes it."""
    return job_cancel(job=job)


def campaign_build_retry(*, job: CampaignBuild) -> CampaignBuild:
    """Queue a failed, cancelled or stalled build again; the comparisons already written are kept."""
    if not chunked_job_retryable(job=job):
        raise RequestError(
            f"build {job.pk} is {job.status}: only failed, cancelled or stalled builds can be retried"
        )
    return job_requeue(job=job, enqueue=lambda: _enqueue(job.pk))


def campaign_build_line(*, job: CampaignBuild) -> str:
    """The campaign page's progress line, as the page shows it and its status JSON sends it."""
    if not job.total:
        return "Building: drawing the comparisons"
    return f"Building: {job.done:,} of {job.total:,} comparisons"


def campaign_build_status(*, job: CampaignBuild) -> dict[str, Any]:
    """The JSON the campaign page's progress line polls."""
    return job_status_payload(job=job, done=job.done, total=job.total, line=campaign_build_line(job=job))
