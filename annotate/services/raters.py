"""A campaign's rater pool and the raters a researcher excluded from it."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from analysis.quality_flags import REASON_MAX_CHARS
from annotate.errors import CampaignError
from annotate.leases import campaign_taken_refresh
from annotate.models import Campaign, RaterExclusion
from annotate.settle_queue import campaign_settle_request
from core.roles import RATERS


def campaign_rater_add(*, campaign: Campaign, user: User) -> None:
    if not user.groups.filter(name=RATERS).exists():
        raise CampaignError(f"user {user.username!r} is not a rater")
    campaign.raters.add(user)


def campaign_rater_remove(*, campaign: Campaign, user: User) -> None:
    """Remove from the pool (no new items); ratings already given stay."""
    campaign.raters.remove(user)


def campaign_rater_exclude(*, campaign: Campaign, user: User, reason: str = "") -> None:
    """Leave the rater's ratings out of reports, the counts and settling, and serve them nothing more.

    The reason (the flags' text when excluded from a flag) goes into the report; excluding again
    replaces it and keeps the first exclusion's time.
    """
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX_CHARS:
        raise CampaignError(
            f"the reason is {len(reason)} characters long; at most {REASON_MAX_CHARS} are kept"
        )
    with transaction.atomic():
        RaterExclusion.objects.update_or_create(campaign=campaign, rater=user, defaults={"reason": reason})
        # Their ratings stop counting towards what each item needs, and towards what settled.
        campaign_taken_refresh(campaign=campaign, now=timezone.now())
        campaign_settle_request(campaign=campaign, reconsider=True)


def campaign_rater_include(*, campaign: Campaign, user: User) -> None:
    with transaction.atomic():
        RaterExclusion.objects.filter(campaign=campaign, rater=user).delete()
        campaign_taken_refresh(campaign=campaign, now=timezone.now())
        campaign_settle_request(campaign=campaign, reconsider=True)
