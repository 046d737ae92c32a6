"""Sending one delivery: the checked POST, the log, and the retry schedule (exponential backoff)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from api.models import DeliveryStatus, WebhookDelivery
from api.webhooks import WebhookError, webhook_allow_list, webhook_signature
from generation.served_http import ServedModelError, post

MAX_ANSWER_BYTES = 64 * 1024  # a receiver's answer is read (to finish the exchange) and dropped


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: WEBHOOK_RETRY_BASE_SECONDS doubled each time."""
    return float(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def webhook_delivery_attempt(*, delivery_id: int) -> bool:
    """Try once; True when another attempt should follow (a failure with attempts left)."""
    delivery = WebhookDelivery.objects.select_related("hook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return False
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "usability-webhooks/1",
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": str(delivery.pk),
        "X-Signature-256": webhook_signature(secret=delivery.hook.secret, body=body),
    }
    code: int | None = None
    error = ""
    try:
        post(
            url=delivery.hook.url, body=body, headers=headers, allowed=webhook_allow_list(),
            timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS), max_bytes=MAX_ANSWER_BYTES,
        )  # fmt: skip
        code = 200
    except ServedModelError as exc:
        code, error = exc.status, str(exc).replace("SERVED_ALLOWED_HOSTS", "WEBHOOK_ALLOWED_HOSTS")
    except WebhookError as exc:
        error = str(exc)
    attempts = delivery.attempts + 1
    delivered = not error
    more = not delivered and attempts < settings.WEBHOOK_MAX_ATTEMPTS
    status = (
        DeliveryStatus.DELIVERED if delivered else (DeliveryStatus.PENDING if more else DeliveryStatus.FAILED)
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, response_code=code, error=error[:500], status=status, last_attempt=timezone.now()
    )
    return more
