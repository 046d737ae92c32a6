"""The campaign page's summary, kept in Django's cache while the campaign does not change.

The summary (progress, stall and feasibility, the raters with the report's figures and flags, the
preference and sequential estimates) reads every comparison and rating of the campaign: a few
seconds at 100,000 comparisons, a minute and more at a million with many ratings. It is computed by
the same functions as before and kept under annotate.page_version's fingerprint, so a page shows
what those functions would give now; only the ratings of the last hour are counted at each request
(they change with the clock, not with the campaign).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.cache import cache

from annotate.feasibility import campaign_serving_state
from annotate.models import Campaign
from annotate.page_version import campaign_page_fingerprint
from annotate.selectors import campaign_progress, campaign_ratings_last_hour
from annotate.settling import campaign_settling_view
from reports.campaign_stats import (
    campaign_counted_columns,
    campaign_everyone,
    campaign_preference_estimate,
    campaign_raters,
)

# Long enough to outlast a researcher's session; a changed campaign gets a new key at once.
SUMMARY_SECONDS = 24 * 3600


def campaign_page_summary(*, campaign: Campaign) -> dict[str, Any]:
    """`progress`, `raters`, `estimates`, `sequential` and `serving` as the campaign page shows them."""
    key = f"campaign-page:{campaign.pk}:{campaign_page_fingerprint(campaign=campaign)}"
    summary = cache.get(key)
    if summary is None:
        everyone = campaign_everyone(campaign=campaign)  # read once for every figure below
        counted = campaign_counted_columns(campaign=campaign, everyone=everyone)
        summary = {
            "progress": campaign_progress(campaign=campaign),
            "raters": campaign_raters(campaign=campaign, everyone=everyone),
            "estimates": campaign_preference_estimate(campaign=campaign, counted=counted),
            "sequential": campaign_settling_view(campaign=campaign, columns=counted),
            "serving": campaign_serving_state(campaign=campaign),
        }
        cache.set(key, summary, timeout=SUMMARY_SECONDS)
    summary["progress"] = replace(
        summary["progress"], ratings_last_hour=campaign_ratings_last_hour(campaign=campaign)
    )
    return summary
