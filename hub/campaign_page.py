"""The campaign page's summary: computed once per change of the campaign, in the request or on a worker.

The summary (progress, stall and feasibility, the raters with the report's figures and flags, the
preference and sequential estimates) reads every comparison and rating of the campaign: milliseconds
at a few thousand, seconds at a million. It is kept in the database (`CampaignSummary`) under
annotate.page_version's fingerprint, so a page shows what those functions would give now whenever the
campaign has not changed since. When it has:
- a summary that took under `INLINE_SECONDS` to compute is computed again in the request, so a small
  campaign's page is always current;
- a longer one is shown as it was, with its time (`as_of`), while a worker computes the new one
  (hub.campaign_summary, at most one refresh in flight per campaign): a live campaign of a million
  comparisons, where every rating changes the fingerprint, would otherwise make every view wait.
Only the ratings of the last hour are counted at each request (they change with the clock).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotate.build_jobs import BUILD_IN_REQUEST_MAX
from annotate.models import Campaign, Comparison
from annotate.page_version import campaign_page_fingerprint
from annotate.selectors import campaign_ratings_last_hour
from hub.campaign_summary import LAYOUT, campaign_summary_store
from hub.models import CampaignSummary

logger = logging.getLogger(__name__)

# Below this a request recomputes a stale summary itself: a fraction of a second is worth a current page.
INLINE_SECONDS = 0.5
# A refresh queued this long ago and not finished is taken for lost (its worker died): the next view
# queues another. Far above what one takes (about ten seconds at a million comparisons and ratings).
REFRESH_STALE = timedelta(minutes=10)
# A campaign of more comparisons than this, with no summary yet (just built, or kept in an older
# layout), has its first one computed by a worker while its page says so (`campaign_page_summary`):
# computing it in the request took 13 s at a million. The same bound as the web form's builds.
PENDING_ABOVE = BUILD_IN_REQUEST_MAX


def campaign_summary_queue(*, campaign_id: int) -> bool:
    """Hand a refresh of the campaign's summary to a worker; False (logged) when there is no broker."""
    from hub.tasks import campaign_summary_task

    try:
        campaign_summary_task.delay(campaign_id)
    except Exception:
        logger.exception("could not queue the summary of campaign %s", campaign_id)
        return False
    return True


def _refresh_request(*, campaign_id: int) -> None:
    """Queue a worker refresh once this transaction commits, unless one is already in flight."""
    now = timezone.now()
    idle = Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=now - REFRESH_STALE)
    if not CampaignSummary.objects.filter(idle, campaign_id=campaign_id).update(refresh_queued_at=now):
        return

    def queue() -> None:
        if not campaign_summary_queue(campaign_id=campaign_id):
            # Nothing is in flight after all, so the next view may queue again.
            CampaignSummary.objects.filter(campaign_id=campaign_id).update(refresh_queued_at=None)

    transaction.on_commit(queue)


def campaign_summary_request(*, campaign_id: int) -> None:
    """Have a worker compute the campaign's summary, unless a refresh is already in flight: the first
    one too, marked on a placeholder row that no page reads (its layout is 0)."""
    placeholder = CampaignSummary(
        campaign_id=campaign_id,
        layout=0,
        fingerprint="",
        computed_at=timezone.now(),
        compute_seconds=0,
        data=b"",
    )
    CampaignSummary.objects.bulk_create([placeholder], ignore_conflicts=True)
    _refresh_request(campaign_id=campaign_id)


def _large(*, campaign: Campaign) -> bool:
    # Counts no further than the bound, whatever the campaign's size.
    return (
        Comparison.objects.filter(campaign=campaign).values("pk")[: PENDING_ABOVE + 1].count() > PENDING_ABOVE
    )


def _stored(*, campaign: Campaign) -> tuple[CampaignSummary, dict[str, Any]] | None:
    row = CampaignSummary.objects.filter(campaign=campaign, layout=LAYOUT).first()
    if row is None:
        return None
    try:
        # Only campaign_summary_store writes it, from the app's own objects.
        return row, pickle.loads(row.data)
    except Exception:  # a class it names moved or changed: as good as no summary
        logger.warning("unreadable summary of campaign %s: computing it again", campaign.pk)
        return None


def campaign_page_summary(*, campaign: Campaign, compute_now: bool = False) -> dict[str, Any] | None:
    """`progress`, `raters`, `estimates`, `sequential` and `serving` as the campaign page shows them, and
    `as_of`: None when they are current, else when the summary shown was computed (a newer is coming).

    None when there is no summary yet and the campaign is larger than `PENDING_ABOVE`: a worker is
    computing it (`compute_now` computes it in the request instead, as for a smaller campaign)."""
    stored = _stored(campaign=campaign)
    as_of: datetime | None = None
    if stored is None:
        if not compute_now and _large(campaign=campaign):
            campaign_summary_request(campaign_id=campaign.pk)
            return None
        summary = campaign_summary_store(campaign=campaign)
    else:
        row, summary = stored
        fingerprint = campaign_page_fingerprint(campaign=campaign)
        if row.fingerprint != fingerprint:
            if row.compute_seconds < INLINE_SECONDS:
                summary = campaign_summary_store(campaign=campaign, fingerprint=fingerprint)
            else:
                _refresh_request(campaign_id=campaign.pk)
                as_of = row.computed_at
    summary["progress"] = replace(
        summary["progress"], ratings_last_hour=campaign_ratings_last_hour(campaign=campaign)
    )
    summary["as_of"] = as_of
    return summary
