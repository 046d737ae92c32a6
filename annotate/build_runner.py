"""The worker side of a campaign's build job: write the comparisons a batch at a time, resumably.

Each batch commits with the job's count of written rows (a compare-and-set on `done`, so two
workers can never both write the same rows). The build is deterministic for the job's seed: a
retry after a failure, a cancel or a killed worker draws every row again and writes only those
after `done`. When all are written the campaign leaves the building state (to draft, or open when
the researcher asked for it at creation) in the same transaction as the job's end.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from annotate.build_models import CampaignBuild
from annotate.errors import CampaignError
from annotate.models import Campaign
from annotate.services.building import build_rows
from annotate.services.read_ahead import answers_readable_elsewhere
from annotate.settle_cells import settle_cells_assign
from core.chunked_run import job_cancel_requested
from core.events import campaign_built, event_send_on_commit, job_ended
from core.models import JobStatus
from core.seeding import secret_rng

log = logging.getLogger(__name__)


class _CancelRequested(Exception):
    """Raised between batches (after a commit) when the researcher asked the build to stop."""


class _Overtaken(Exception):
    """Another worker committed rows this one was about to write: this one stops, writing nothing."""


def campaign_build_run(*, build_id: int) -> CampaignBuild:
    """Write the build's remaining comparisons; a failure is recorded on the job, the rows so far kept."""
    build = CampaignBuild.objects.select_related("campaign").get(pk=build_id)
    if build.status in (JobStatus.DONE, JobStatus.CANCELLED):
        return build
    jobs = CampaignBuild.objects.filter(pk=build.pk)
    if build.cancel_requested:
        return _finish(build, JobStatus.CANCELLED)
    now = timezone.now()
    jobs.update(status=JobStatus.RUNNING, heartbeat=now, error="", finished=None)
    jobs.filter(started__isnull=True).update(started=now)
    written = [build.done]

    def on_batch(done: int, total: int) -> None:  # inside the batch's transaction
        if not jobs.filter(done=written[0]).update(done=done, total=total, heartbeat=timezone.now()):
            raise _Overtaken(f"build {build.pk}: another worker wrote past {written[0]} comparisons")
        written[0] = done

    def after_batch(done: int, total: int) -> None:  # committed
        if job_cancel_requested(job=build):
            raise _CancelRequested()

    try:
        if build.campaign.status != Campaign.Status.BUILDING:
            raise CampaignError(f"campaign {build.campaign.name!r} is {build.campaign.status}, not building")
        total = build_rows(
            campaign=build.campaign,
            rng=secret_rng(seed=build.seed, purpose="campaign-sides"),
            answered_only=build.answered_only,
            skip=build.done,
            on_batch=on_batch,
            progress=after_batch,
            read_ahead=answers_readable_elsewhere(),
        )
    except _CancelRequested:
        return _finish(build, JobStatus.CANCELLED)
    except _Overtaken:
        log.warning("build %s overtaken by another worker; this one stops", build.pk)
        build.refresh_from_db()
        return build
    except BaseException as exc:
        jobs.update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000], finished=timezone.now()
        )
        build.refresh_from_db()
        event_send_on_commit(job_ended, sender=CampaignBuild, job=build, status=JobStatus.FAILED)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: recorded, then let through
        log.exception("%s failed", build)
        return build
    with transaction.atomic():
        campaign = build.campaign
        settle_cells_assign(campaign=campaign)  # before any rater is served, as `campaign_build` does
        campaign.built = timezone.now()
        campaign.status = Campaign.Status.OPEN if build.open_when_built else Campaign.Status.DRAFT
        campaign.save(update_fields=["built", "status"])
        event_send_on_commit(campaign_built, sender=Campaign, campaign_id=campaign.pk)
        jobs.update(done=total, total=total)
        return _finish(build, JobStatus.DONE)


def _finish(build: CampaignBuild, status: str) -> CampaignBuild:
    CampaignBuild.objects.filter(pk=build.pk).update(status=status, finished=timezone.now())
    build.refresh_from_db()
    event_send_on_commit(job_ended, sender=CampaignBuild, job=build, status=status)
    return build
