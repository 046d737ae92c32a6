"""Computing a campaign page's summary and keeping it (`CampaignSummary`): in the request or on a worker.

hub.campaign_page decides which, and shows it; this module is what both run.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

from django.utils import timezone

from annotate.feasibility import campaign_serving_state
from annotate.models import Campaign
from annotate.page_version import campaign_page_fingerprint
from annotate.selectors import campaign_progress
from annotate.settling import campaign_settling_view
from hub.models import CampaignSummary
from reports.campaign_stats import (
    campaign_counted_columns,
    campaign_everyone,
    campaign_preference_estimate,
    campaign_raters,
)

# Bump when the summary's contents change shape: stored summaries of another layout are not read.
LAYOUT = 1


def _compute(*, campaign: Campaign) -> dict[str, Any]:
    everyone = campaign_everyone(campaign=campaign)  # read once for every figure below
    counted = campaign_counted_columns(campaign=campaign, everyone=everyone)
    return {
        "progress": campaign_progress(campaign=campaign),
        "raters": campaign_raters(campaign=campaign, everyone=everyone),
        "estimates": campaign_preference_estimate(campaign=campaign, counted=counted),
        "sequential": campaign_settling_view(campaign=campaign, columns=counted),
        "serving": campaign_serving_state(campaign=campaign),
    }


def campaign_summary_store(*, campaign: Campaign, fingerprint: str | None = None) -> dict[str, Any]:
    """Compute the campaign's summary and keep it, under the fingerprint read before computing (so a
    change made meanwhile makes it stale at once; a caller that just read it passes it); clears any
    refresh in flight."""
    if fingerprint is None:
        fingerprint = campaign_page_fingerprint(campaign=campaign)
    start = time.perf_counter()
    summary = _compute(campaign=campaign)
    seconds = time.perf_counter() - start
    row = CampaignSummary(
        campaign=campaign,
        layout=LAYOUT,
        fingerprint=fingerprint,
        computed_at=timezone.now(),
        compute_seconds=seconds,
        data=pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL),
        refresh_queued_at=None,
    )
    fields = ["layout", "fingerprint", "computed_at", "compute_seconds", "data", "refresh_queued_at"]
    CampaignSummary.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["campaign"], update_fields=fields
    )
    return summary


def campaign_summary_refresh(*, campaign_id: int) -> None:
    """What the worker runs: compute and keep a campaign's summary (nothing if it is gone or building)."""
    campaign = Campaign.objects.filter(pk=campaign_id).select_related("eval_set").first()
    if campaign is None or campaign.status == Campaign.Status.BUILDING:
        CampaignSummary.objects.filter(campaign_id=campaign_id).update(refresh_queued_at=None)
        return
    campaign_summary_store(campaign=campaign)
