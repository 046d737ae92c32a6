"""A campaign just built gets its page's summary computed on a worker, before anyone opens the page.

Computing it reads every comparison: seconds at a million, which the first view would otherwise wait
for (hub.campaign_page computes a missing summary in the request, as it does when no broker answers).
"""

from __future__ import annotations

from typing import Any


def on_campaign_built(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    from hub.campaign_page import campaign_summary_queue

    campaign_summary_queue(campaign_id=campaign_id)
