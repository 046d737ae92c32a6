"""/webhooks: register, list, delete; a hook's delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from api.models import Webhook, WebhookEvent
from api.webhooks import webhook_create, webhook_delete

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str = Field(description="http(s), to a host the operator lists in WEBHOOK_ALLOWED_HOSTS")
    events: list[WebhookEvent]


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    active: bool
    created: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the HMAC key of X-Signature-256; shown once")


class DeliveryOut(Schema):
    id: int
    event: str
    status: str
    attempts: int
    response_code: int | None
    error: str
    created: datetime
    last_attempt: datetime | None


def _out(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.pk,
        "url": hook.url,
        "events": hook.events,
        "active": hook.active,
        "created": hook.created,
    }


def _own(request: HttpRequest, hook_id: int) -> Webhook:
    return get_object_or_404(Webhook, pk=hook_id, user=request.auth)  # type: ignore[attr-defined]


@router.post("", response={201: WebhookCreated}, summary="Register a webhook")
def create(request: HttpRequest, payload: WebhookIn) -> Status:
    hook = webhook_create(user=request.auth, url=payload.url, events=[str(e) for e in payload.events])  # type: ignore[attr-defined]
    return Status(201, {**_out(hook), "secret": hook.secret})


@router.get("", response=list[WebhookOut], summary="List your webhooks")
@paginate
def list_hooks(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(h) for h in Webhook.objects.filter(user=request.auth)]  # type: ignore[attr-defined]


@router.delete("/{int:hook_id}", response={204: None}, summary="Delete a webhook")
def delete(request: HttpRequest, hook_id: int) -> Status:
    webhook_delete(hook=_own(request, hook_id))
    return Status(204, None)


@router.get("/{int:hook_id}/deliveries", response=list[DeliveryOut], summary="A webhook's delivery log")
@paginate
def deliveries(request: HttpRequest, hook_id: int) -> object:
    return _own(request, hook_id).deliveries.all()
