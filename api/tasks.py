"""Celery tasks of the API (queue `default`): webhook deliveries and the campaign watch."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def webhook_deliver_task(delivery_id: int) -> None:
    from api.models import WebhookDelivery
    from api.webhook_delivery import retry_delay, webhook_delivery_attempt

    if webhook_delivery_attempt(delivery_id=delivery_id):
        # The attempt count lives on the delivery (its log), so the next try is a fresh message.
        attempts = (
            WebhookDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 1
        )
        webhook_deliver_task.apply_async((delivery_id,), countdown=retry_delay(attempts))


@shared_task(acks_late=True)
def campaign_watch_task(campaign_id: int) -> None:
    from api.webhook_events import campaign_watch

    campaign_watch(campaign_id=campaign_id)
