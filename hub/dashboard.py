"""What a researcher's dashboard shows: one query set per section, no business logic."""

from __future__ import annotations

from typing import Any

from annotate.models import Campaign
from annotate.selectors import campaign_item_progress
from core.models import JobStatus
from eval_sets.models import EvalSet
from finetune.models import FinetuneJob
from generation.models import GenerationJob, ModelSpec

RECENT = 8


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
        "campaigns": [(c, campaign_item_progress(campaign=c)) for c in campaigns],
    }
