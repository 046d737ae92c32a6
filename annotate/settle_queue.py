"""Asking for a settling refresh: what the rating, undo, exclusion and inclusion services call.

The refresh runs on a worker (annotate.tasks, annotate.settling) once the asking transaction has
committed, never inside the rating request, and at most one per campaign at a time
(annotate.settle_state).
"""

from __future__ import annotations

import logging

from django.db import transaction

from annotate.models import Campaign
from annotate.settle_state import settle_release, settle_request_count

logger = logging.getLogger(__name__)


def campaign_settle_request(*, campaign: Campaign, reconsider: bool = False) -> None:
    """Ask for a refresh of a stop-when-settled campaign once the current transaction commits.

    ``reconsider``: the ratings that count changed (a rater excluded or let back in), so every closure
    is taken again from the ratings that remain. Other campaigns cost nothing.
    """
    if campaign.stop_when_settled:
        campaign_id = campaign.pk
        transaction.on_commit(lambda: _request(campaign_id=campaign_id, reconsider=reconsider))


def _request(*, campaign_id: int, reconsider: bool) -> None:
    state_id = settle_request_count(campaign_id=campaign_id, reconsider=reconsider)
    if state_id is None:
        return  # one is in flight: it sees this request and runs again
    from annotate.tasks import campaign_settle_task

    try:
        campaign_settle_task.delay(campaign_id)
    except Exception:
        # No broker: nothing is in flight after all, so the next request may queue again.
        settle_release(state_id=state_id)
        logger.exception("could not queue the settling of campaign %s", campaign_id)
