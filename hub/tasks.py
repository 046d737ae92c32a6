"""Celery task of the site layer (queue `default`): a thin wrapper around the campaign page's summary."""

from __future__ import annotations

from celery import shared_task

from hub.campaign_summary import campaign_summary_refresh


@shared_task(acks_late=True)
def campaign_summary_task(campaign_id: int) -> None:
    campaign_summary_refresh(campaign_id=campaign_id)
