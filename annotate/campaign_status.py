"""Opening and closing a campaign: the one rule every status change goes through."""

from __future__ import annotations

from annotate.errors import CampaignError
from annotate.models import Campaign


def campaign_status_set(*, campaign: Campaign, status: str) -> Campaign:
    """Set the campaign's status (draft, open or closed); an unbuilt campaign cannot be opened.

    The building state belongs to the build job (annotate.build_jobs): it is neither set nor left here.
    """
    if status not in Campaign.Status.values:
        raise CampaignError(f"unknown status {status!r}")
    if campaign.status == Campaign.Status.BUILDING:
        raise CampaignError("the campaign is still being built: it can be opened once its build is done")
    if status == Campaign.Status.BUILDING:
        raise CampaignError("only a build job puts a campaign in the building state")
    if status == Campaign.Status.OPEN and not campaign.comparisons.exists():
        raise CampaignError("build the campaign before opening it")
    campaign.status = status
    campaign.save(update_fields=["status"])
    return campaign
