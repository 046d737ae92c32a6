"""Celery tasks of the API (queue `default`): webhook deliveries and the campaign watch."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=None)
def webhook_deliver_task(self: Any, delivery_id: int) -> None:
    from api.webhook_delivery import retry_delay, webhook_delivery_attempt

    if webhook_delivery_attempt(delivery_id=delivery_id):
        attempts = self.request.retries + 1
        raise self.retry(countdown=retry_delay(attempts))


@shared_task(acks_late=True)
def campaign_watch_task(campaign_id: int) -> None:
    from api.webhook_events import campaign_watch

    campaign_watch(campaign_id=campaign_id)
