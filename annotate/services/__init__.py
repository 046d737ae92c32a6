"""Campaign writes: creating and building campaigns, the rater pool, gold checks.

Reads (progress, the roster, the exclusion filter) are in `annotate.selectors`; statistics over
ratings are the reports' (`reports.campaign_stats`).
"""

from annotate.errors import CampaignError
from annotate.services.campaigns import (
    balanced_sides,
    campaign_build,
    campaign_create,
    campaign_pairs,
    campaign_settling_check,
    campaign_status_set,
    selected_samples,
)
from annotate.services.gold import ANSWERS, comparison_gold_mark, gold_upload
from annotate.services.raters import (
    campaign_rater_add,
    campaign_rater_exclude,
    campaign_rater_include,
    campaign_rater_remove,
)

__all__ = [
    "ANSWERS",
    "CampaignError",
    "balanced_sides",
    "campaign_build",
    "campaign_create",
    "campaign_pairs",
    "campaign_rater_add",
    "campaign_rater_exclude",
    "campaign_rater_include",
    "campaign_rater_remove",
    "campaign_settling_check",
    "campaign_status_set",
    "comparison_gold_mark",
    "gold_upload",
    "selected_samples",
]
