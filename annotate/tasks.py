"""Celery task of the annotate app (queue `default`): a thin wrapper around settling."""

from __future__ import annotations

from celery import shared_task

from annotate.settling import campaign_settle


@shared_task(acks_late=True)
def campaign_settle_task(campaign_id: int) -> None:
    if campaign_settle(campaign_id=campaign_id):
        # Ratings kept arriving through a whole task's refreshes: a fresh task carries on.
        campaign_settle_task.delay(campaign_id)
