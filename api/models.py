"""Personal API tokens, remembered answers to retried writes, webhooks and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A researcher's bearer token. Only the SHA-256 of the secret is kept: the token is shown once.

    Tokens are 32 random bytes, so a fast hash is enough (no dictionary to guess from), and it lets a
    request find its token by an indexed lookup.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > timezone.now())


class IdempotentWrite(models.Model):
    """The answer a write gave under an Idempotency-Key, replayed when a client retries it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_digest = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class WebhookEvent(models.TextChoices):
    JOB_FINISHED = "job.finished", "A generation or finetune job finished"
    JOB_FAILED = "job.failed", "A generation or finetune job failed"
    CAMPAIGN_SETTLED = "campaign.settled", "A stop-when-settled campaign settled"
    CAMPAIGN_COMPLETE = "campaign.complete", "Every comparison of a campaign has its ratings"
    RATER_FLAGGED = "rater.flagged", "A rater was flagged (excluded from a campaign's results)"


class Webhook(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="WebhookEvent values this hook receives.")
    secret = models.CharField(max_length=64, help_text="The key of the X-Signature-256 HMAC.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    hook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    # One delivery per hook and event occurrence ("campaign 3", "generation job 7 done"): an event
    # announced twice (a retried task, a second refresh) is sent once.
    event_key = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_attempt = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["hook", "event", "event_key"], name="api_delivery_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.hook_id} ({self.status})"
