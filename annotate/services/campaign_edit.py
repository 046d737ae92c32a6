"""Changing a campaign after it was created: what may safely change while it runs, each change logged.

Safe at any time: the title raters see, the instructions, the minimum reading time, the quota per
rater, the plan's minimum effect and power (they size the fixed design shown beside the running one,
never the interval), and a stop-when-settled campaign's precision, cap on ratings and equivalence
margin (they say when to stop; a change is reconsidered at once, so a cap below the ratings already
given stops the campaign, and raising the cap of a capped one opens it again). The plan's alpha is the
intervals' level: it changes only before the first rating, since choosing it after seeing ratings
would void the guarantee. Raising the ratings per comparison is safe
too: every regular item needs at least the new number (overlap items at least 3), none loses a rating
it was given or a lease it holds. What changes which items exist or how many ratings an item already
assigned needs (lowering the ratings per comparison, changing the overlap) is accepted only while no
item has been served; after that it is refused with a message naming the field. A refused edit changes
nothing; an accepted one writes a `CampaignChange` row per field that changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from annotate.errors import CampaignFieldError
from annotate.models import Campaign, CampaignChange, Comparison, Lease, Rating
from annotate.services.campaigns import campaign_settling_check
from annotate.settle_queue import campaign_settle_request
from core.seeding import secret_rng

# The fields an edit may name, in the order the change log lists them.
EDITABLE = (
    "title",
    "ratings_per_comparison",
    "overlap",
    "quota_per_rater",
    "min_seconds",
    "precision",
    "max_ratings",
    "equivalence_margin",
    "min_effect",
    "power",
    "alpha",
    "instructions",
)
# What says when a stop-when-settled campaign stops: a change takes every closure again.
STOPPING = ("precision", "max_ratings", "equivalence_margin", "alpha")


class CampaignEditError(CampaignFieldError):
    """An edit refused because of one field (`field`), named in the message."""


@dataclass(frozen=True)
class _Served:
    ratings: int
    leases: int

    @property
    def any(self) -> bool:
        return bool(self.ratings or self.leases)


def _served(campaign: Campaign) -> _Served:
    return _Served(
        ratings=Rating.objects.filter(campaign=campaign).count(),
        leases=Lease.objects.filter(campaign=campaign).count(),
    )


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)


def _check(campaign: Campaign, changes: dict[str, Any], served: _Served) -> None:
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise CampaignEditError(unknown[0], f"{', '.join(unknown)} cannot be changed after creation")
    since = f"raters have been served its items ({served.leases} served, {served.ratings} rated)"
    if "title" in changes and len(changes["title"]) > 200:
        raise CampaignEditError("title", "the title is at most 200 characters")
    if "instructions" in changes and not changes["instructions"].strip():
        raise CampaignEditError("instructions", "the instructions cannot be empty")
    if "min_seconds" in changes and not 0.0 <= changes["min_seconds"] <= 600.0:
        raise CampaignEditError("min_seconds", "the minimum reading time must be between 0 and 600 seconds")
    quota = changes.get("quota_per_rater")
    if quota is not None and quota < 1:
        raise CampaignEditError("quota_per_rater", "the quota per rater must be at least 1 (or none)")
    checked = ("precision", "max_ratings", "equivalence_margin", "min_effect", "power", "alpha")
    if set(changes) & set(checked):
        try:
            campaign_settling_check(
                stop_when_settled=campaign.stop_when_settled,
                **{f: changes.get(f, getattr(campaign, f)) for f in checked},
            )
        except CampaignFieldError as exc:
            raise CampaignEditError(exc.field, str(exc)) from None
    if "alpha" in changes and served.ratings:
        raise CampaignEditError(
            "alpha",
            f"alpha cannot change once the campaign has ratings ({served.ratings}): it is the level of the "
            "anytime-valid interval, and choosing it after seeing ratings would void its guarantee",
        )
    if "ratings_per_comparison" in changes and campaign.status == Campaign.Status.BUILDING:
        # The build job draws every row's `needed` from the value it started with.
        raise CampaignEditError(
            "ratings_per_comparison", "the campaign is still being built: change this once its build is done"
        )
    k = changes.get("ratings_per_comparison", campaign.ratings_per_comparison)
    if not 1 <= k <= 50:
        raise CampaignEditError("ratings_per_comparison", "ratings per comparison must be between 1 and 50")
    if k < campaign.ratings_per_comparison and served.any:
        raise CampaignEditError(
            "ratings_per_comparison",
            f"ratings per comparison can only go up (from {campaign.ratings_per_comparison}) once {since}: "
            "lowering it would strand ratings and leases already given for the higher number",
        )
    if "overlap" in changes:
        if not 0.0 <= changes["overlap"] <= 1.0:
            raise CampaignEditError("overlap", "the overlap must be between 0 and 1")
        if changes["overlap"] != campaign.overlap and served.any:
            raise CampaignEditError(
                "overlap",
                f"the overlap cannot change once {since}: it decides which items need 3 raters, "
                "and items already assigned were served for the old plan (raise the ratings per "
                "comparison instead, or create a new campaign)",
            )


def _needed_rewrite(campaign: Campaign, *, old_k: int, served: _Served, redraw: bool) -> None:
    regular = Comparison.objects.filter(campaign=campaign, gold_answer__isnull=True, gold_uploaded=False)
    k = campaign.ratings_per_comparison
    if not redraw:
        # Raising only: no item needs fewer ratings than before, overlap items keep at least 3.
        regular.update(needed=Greatest(F("needed"), k))
        return
    # Nothing served yet: the overlap items are drawn again, as a build draws them.
    ids = list(regular.order_by("pk").values_list("pk", flat=True))
    overlap = set(
        secret_rng(seed=None, purpose="campaign-overlap").sample(ids, round(campaign.overlap * len(ids)))
    )
    regular.exclude(pk__in=overlap).update(needed=k)
    regular.filter(pk__in=overlap).update(needed=max(3, k))


@transaction.atomic
def campaign_edit(*, campaign: Campaign, changed_by: User | None, **changes: Any) -> list[CampaignChange]:
    """Apply the changed fields (keyword per field of `EDITABLE`); returns the log rows written."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    served = _served(campaign)
    if "instructions" in changes:
        # A browser sends a textarea with CRLF line ends and the form strips it: the same text is no change.
        text = changes["instructions"].replace("\r\n", "\n").strip()
        changes["instructions"] = campaign.instructions if text == campaign.instructions.strip() else text
    changes = {f: v for f, v in changes.items() if f not in EDITABLE or getattr(campaign, f) != v}
    _check(campaign, changes, served)
    if not changes:
        return []
    old_k = campaign.ratings_per_comparison
    log = [
        CampaignChange(
            campaign=campaign, changed_by=changed_by, field=f, old=_shown(getattr(campaign, f)), new=_shown(v)
        )
        for f, v in sorted(changes.items(), key=lambda item: EDITABLE.index(item[0]))
    ]
    for f, v in changes.items():
        setattr(campaign, f, v)
    campaign.save(update_fields=list(changes))
    if "ratings_per_comparison" in changes or "overlap" in changes:
        _needed_rewrite(campaign, old_k=old_k, served=served, redraw=not served.any)
    if campaign.stop_when_settled:
        # More ratings per item can end a stall; the stopping rules change what settles, so every
        # closure is taken again (a raised cap opens a capped campaign, a lowered one closes it).
        campaign_settle_request(campaign=campaign, reconsider=bool(set(changes) & set(STOPPING)))
    CampaignChange.objects.bulk_create(log)
    return log
