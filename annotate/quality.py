"""Reads behind the quality flags and exclusions: thresholds, too-fast counts, who was excluded and why.

The flags themselves are ``annotate.quality_flags.rater_flags``, fed by ``reports.campaign_quality``
(the figures it needs, median seconds and gold accuracy, are the report's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from annotate.models import Campaign, RaterExclusion, Rating
from annotate.quality_flags import FlagThresholds
from annotate.recruiting.models import CampaignRecruiting


@dataclass(frozen=True)
class Exclusion:
    rater: str  # the username, as the report's ``raters`` block names raters
    reason: str
    excluded_at: datetime


def campaign_flag_thresholds(*, campaign: Campaign) -> FlagThresholds:
    """The campaign's minimum reading time and its gold threshold (the model's default without recruiting)."""
    recruiting = CampaignRecruiting.objects.filter(campaign=campaign).values_list(
        "gold_accuracy_min", flat=True
    )
    gold_min = recruiting.first()
    if gold_min is None:
        gold_min = CampaignRecruiting._meta.get_field("gold_accuracy_min").get_default()
    return FlagThresholds(min_seconds=float(campaign.min_seconds), gold_accuracy_min=float(gold_min))


def campaign_too_fast_counts(*, campaign: Campaign) -> dict[str, int]:
    """username -> ratings flagged too fast when given (every rater with a rating, 0 included)."""
    rows = (
        Rating.objects.filter(campaign=campaign)
        .values("rater__username")
        .annotate(fast=Count("pk", filter=Q(too_fast=True)))
        .values_list("rater__username", "fast")
    )
    return dict(rows)


def campaign_exclusions(*, campaign: Campaign) -> list[Exclusion]:
    """The raters excluded from the campaign, oldest exclusion first."""
    rows = (
        RaterExclusion.objects.filter(campaign=campaign)
        .order_by("created", "pk")
        .values_list("rater__username", "reason", "created")
    )
    return [Exclusion(rater=name, reason=reason, excluded_at=created) for name, reason, created in rows]
