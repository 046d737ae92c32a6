"""A campaign's build as a job (issue 31): comparisons written a batch at a time, each batch committed.

annotate.models imports this module, which registers the model with the app.

The build is deterministic for its seed (annotate.services.building draws every row in one fixed
order), so the job stores the seed and how many rows are committed: a retry draws the same rows
again and writes only those after `done`. The campaign is in the "building" state meanwhile.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from core.models import Job


class CampaignBuild(Job):
    """The job that writes one campaign's comparisons; `done` of `total` are committed."""

    campaign = models.OneToOneField("annotate.Campaign", on_delete=models.CASCADE, related_name="build")
    # Drawn when not given, and kept: a resumed build must draw the rows it drew before.
    seed = models.BigIntegerField()
    answered_only = models.BooleanField(default=False)
    # Open the campaign to raters once built (the form's "open now").
    open_when_built = models.BooleanField(default=False)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    noun: ClassVar[str] = "build"
    retry_keeps: ClassVar[str] = "the comparisons already written"

    def __str__(self) -> str:
        return f"build of campaign {self.campaign_id}"
