"""What a researcher's dashboard shows: one query set per section, no business logic."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from annotate.models import Campaign
from annotate.page_version import campaign_page_fingerprint
from annotate.selectors import ItemProgress, campaign_item_progress
from core.models import JobStatus
from eval_sets.models import EvalSet
from finetune.models import FinetuneJob
from generation.models import GenerationJob, ModelSpec

RECENT = 8
# Long enough to outlast a researcher's session; a changed campaign gets a new key at once.
SUMMARY_SECONDS = 24 * 3600


def campaign_done_needed(*, campaign: Campaign) -> ItemProgress:
    """Done against needed, kept under the campaign page's fingerprint (a few indexed reads).

    Counting reads every comparison and every rating of the campaign (about a second at a million);
    the fingerprint changes with whatever the count depends on, as for the campaign page's summary,
    so a campaign that took no rating since it was counted is not counted again.
    """
    key = f"dashboard-progress:{campaign.pk}:{campaign_page_fingerprint(campaign=campaign)}"
    progress = cache.get(key)
    if progress is None:
        progress = campaign_item_progress(campaign=campaign)
        cache.set(key, progress, timeout=SUMMARY_SECONDS)
    return progress


def dashboard_data() -> dict[str, Any]:
    active = (JobStatus.QUEUED, JobStatus.RUNNING)
    campaigns = list(Campaign.objects.exclude(status=Campaign.Status.CLOSED).order_by("-pk")[:RECENT])
    return {
        "eval_sets": list(EvalSet.objects.order_by("-created")[:RECENT]),
        "models": list(ModelSpec.objects.order_by("-created")[:RECENT]),
        "model_count": ModelSpec.objects.count(),
        "running_generation": list(
            GenerationJob.objects.filter(status__in=active).select_related("model", "eval_set")
        ),
        "recent_generation": list(
            GenerationJob.objects.exclude(status__in=active).select_related("model", "eval_set")[:RECENT]
        ),
        "running_finetune": list(FinetuneJob.objects.filter(status__in=active).select_related("base_model")),
        "recent_finetune": list(
            FinetuneJob.objects.exclude(status__in=active).select_related("base_model")[:RECENT]
        ),
        # Done against needed only (the campaign page has the pace): no pass over every rating's seconds.
        "campaigns": [(c, campaign_done_needed(campaign=c)) for c in campaigns],
    }
