"""Webhooks: register a URL for events, sign each body, queue its delivery after commit.

Where a hook may point is the operator's choice, by the same rules as served models
(generation/served_policy.py) with a list of its own, WEBHOOK_ALLOWED_HOSTS: empty (the default)
disables webhooks; a loopback or private address passes only when listed exactly. Delivery
(api.webhook_delivery) checks every address again at connection time and follows no redirect.

Signature (GitHub's convention): `X-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body
with the hook's secret. To verify, in the receiver:

    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Signature-256"])
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from generation.served_policy import HostAllowList, ServedPolicyError, base_url_allowed

DISABLED = (
    "webhooks are disabled on this site: the operator must list the hosts, addresses or networks "
    "webhooks may be sent to in WEBHOOK_ALLOWED_HOSTS"
)


class WebhookError(ValueError):
    """The hook cannot be registered as asked; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def _own_words(exc: ServedPolicyError) -> str:
    # The rules are the served models'; the setting that governs webhooks is named in the message.
    return (
        str(exc)
        .replace("SERVED_ALLOWED_HOSTS", "WEBHOOK_ALLOWED_HOSTS")
        .replace("served-model host", "webhook host")
    )


def webhook_allow_list() -> HostAllowList:
    try:
        return HostAllowList.parse(settings.WEBHOOK_ALLOWED_HOSTS)
    except ServedPolicyError as exc:
        raise WebhookError(_own_words(exc)) from None


def webhook_url_check(url: str) -> str:
    """The URL when it is plain http(s) to a host the operator allows; WebhookError naming `url` otherwise."""
    allowed = webhook_allow_list()
    if allowed.empty:
        raise WebhookError(DISABLED, field="url")
    try:
        base_url_allowed(base_url=url, allowed=allowed)
    except ServedPolicyError as exc:
        raise WebhookError(_own_words(exc).replace("base URL", "webhook URL"), field="url") from None
    return url.strip()


def webhook_create(*, user: User, url: str, events: Sequence[str]) -> Webhook:
    url = webhook_url_check(url)
    unknown = [event for event in events if event not in WebhookEvent.values]
    if unknown or not events:
        raise WebhookError(
            f"unknown event {', '.join(unknown)!s}; choose from {', '.join(WebhookEvent.values)}"
            if unknown
            else f"choose at least one event: {', '.join(WebhookEvent.values)}",
            field="events",
        )
    return Webhook.objects.create(
        user=user, url=url, events=sorted(set(events)), secret=secrets.token_hex(32)
    )


def webhook_delete(*, hook: Webhook) -> None:
    hook.delete()


def webhook_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hooks_for(event: str) -> list[Webhook]:
    # JSON containment lookups differ between SQLite and PostgreSQL: filter the (few) hooks here.
    return [hook for hook in Webhook.objects.filter(active=True) if event in hook.events]


# `hooks_want` runs after every rating, and hooks change rarely: each process keeps the events the
# active hooks receive for this long, and forgets them as soon as it saves or deletes a hook itself
# (`hooks_changed`). A hook another process adds is seen within that time: the events it asks of a
# rating (a campaign complete, a rater flagged) are states, which the next rating checks again.
HOOKS_FRESH_SECONDS = 2.0
_wanted: tuple[float, frozenset[str]] | None = None


def hooks_want(*events: str) -> bool:
    """Whether any active hook receives one of `events` (as of `HOOKS_FRESH_SECONDS` ago at most)."""
    global _wanted
    now = time.monotonic()
    if _wanted is None or now - _wanted[0] > HOOKS_FRESH_SECONDS:
        listed = Webhook.objects.filter(active=True).values_list("events", flat=True)
        _wanted = (now, frozenset(event for hook_events in listed for event in hook_events))
    return not _wanted[1].isdisjoint(events)


def hooks_changed(**kwargs: Any) -> None:
    """A hook was saved or deleted in this process: read them again at the next `hooks_want`."""
    global _wanted
    _wanted = None


def webhook_event_announce(*, event: str, key: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """A delivery for every hook that wants `event`, once per (hook, event, key), queued after commit."""
    body = json.dumps(
        {"event": event, "key": key, "sent": timezone.now().isoformat(), "data": data}, ensure_ascii=False
    )
    made = []
    for hook in hooks_for(event):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(hook=hook, event=event, event_key=key, body=body)
        except IntegrityError:
            continue  # announced before (a retried task, a second refresh): sent once
        made.append(delivery)
        transaction.on_commit(functools.partial(_queue, delivery.pk))
    return made


def queued_task(name: str) -> Any:
    """A task of api.tasks by name, from Celery's registry: the tasks import this module, not the reverse."""
    from celery import current_app

    return current_app.tasks[f"api.tasks.{name}"]


def _queue(delivery_id: int) -> None:
    try:
        queued_task("webhook_deliver_task").delay(delivery_id)
    except Exception:  # no broker: the delivery stays pending and is shown so on the hook's page
        WebhookDelivery.objects.filter(pk=delivery_id).update(error="could not be queued (no broker)")


__all__ = ["DeliveryStatus", "WebhookError", "webhook_create", "webhook_event_announce", "webhook_signature"]
