"""The bookkeeping behind "at most one settling refresh in flight per campaign" (``CampaignSettling``).

Used by the queue (annotate.settle_queue), which counts requests and queues a refresh when none is in
flight, and by the refresh (annotate.settling), which runs again while requests keep arriving. Both
sides only update one small row with conditional statements, so neither waits on the other's locks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from annotate.models import CampaignSettling

# A refresh queued this long ago and not finished is taken for lost (its worker died): the next request
# queues another. Far above what a refresh takes (seconds at tens of thousands of ratings).
SETTLE_STALE = timedelta(minutes=10)


def settle_request_count(*, campaign_id: int, reconsider: bool) -> int | None:
    """Count one more request; returns the state's id when the caller must queue a refresh, else None."""
    state, _ = CampaignSettling.objects.get_or_create(campaign_id=campaign_id)
    changes: dict[str, Any] = {"requested": F("requested") + 1}
    if reconsider:
        changes["reconsider"] = True
    CampaignSettling.objects.filter(pk=state.pk).update(**changes)
    now = timezone.now()
    idle = Q(queued_at__isnull=True) | Q(queued_at__lt=now - SETTLE_STALE)
    claimed = CampaignSettling.objects.filter(idle, pk=state.pk).update(queued_at=now)
    return state.pk if claimed else None


def settle_pass_begin(*, state_id: int) -> tuple[int, bool]:
    """Start a refresh: the request count it answers and whether it must reconsider closures (consumed)."""
    requested, reconsider = CampaignSettling.objects.filter(pk=state_id).values_list(
        "requested", "reconsider"
    )[0]
    if reconsider:
        CampaignSettling.objects.filter(pk=state_id).update(reconsider=False)
    return requested, reconsider


def settle_pass_end(*, state_id: int, requested: int) -> bool:
    """Finish a refresh: True (and none in flight any more) when no request came in since it began."""
    return bool(CampaignSettling.objects.filter(pk=state_id, requested=requested).update(queued_at=None))


def settle_release(*, state_id: int, reconsider: bool = False, requeued: bool = False) -> None:
    """Mark the refresh as no longer in flight (it failed or was never queued), giving back its reconsider;
    with ``requeued``, a new task takes over instead and the refresh stays in flight."""
    changes: dict[str, Any] = {"queued_at": timezone.now() if requeued else None}
    if reconsider:
        changes["reconsider"] = True
    CampaignSettling.objects.filter(pk=state_id).update(**changes)
