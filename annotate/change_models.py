"""The campaign change log: every edit of an open campaign's settings (annotate.services.campaign_edit).

annotate.models imports this module, which registers the model with the app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CampaignChange(models.Model):
    """One field of a campaign changed: who, when, and the value before and after (as shown)."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    field = models.CharField(max_length=64)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.field} {self.old!r} -> {self.new!r}"
