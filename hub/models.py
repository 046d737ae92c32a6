"""The campaign page's last computed summary, kept in the database so every process and worker sees it."""

from __future__ import annotations

from django.db import models


class CampaignSummary(models.Model):
    """One campaign's page figures as last computed (hub.campaign_page), pickled, with what they were made from.

    `fingerprint` is annotate.page_version's digest when the computation began: a page whose campaign
    has the same digest shows `data` as it is. `compute_seconds` decides whether a stale summary is
    recomputed in the request or on a worker; `refresh_queued_at` marks a worker refresh in flight.
    """

    campaign = models.OneToOneField(
        "annotate.Campaign", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # Raised when what `data` holds changes shape: an older pickle is then read as no summary at all.
    layout = models.PositiveSmallIntegerField()
    fingerprint = models.CharField(max_length=32)
    computed_at = models.DateTimeField()
    compute_seconds = models.FloatField()
    data = models.BinaryField()
    refresh_queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"summary of campaign {self.campaign_id} at {self.computed_at:%Y-%m-%d %H:%M:%S}"
