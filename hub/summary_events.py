"""A campaign just built gets its page's summary computed on a worker, before anyone opens the page.

Computing it reads every comparison: seconds at a million, which the first view would otherwise wait
for (hub.campaign_page computes a missing summary in the request).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def on_campaign_built(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    from hub.tasks import campaign_summary_task

    try:
        campaign_summary_task.delay(campaign_id)
    except Exception:  # no broker: the first view computes it instead
        logger.exception("could not queue the summary of campaign %s", campaign_id)
