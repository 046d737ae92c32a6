"""A campaign just built gets its page's summary computed on a worker, before anyone opens the page.

Computing it reads every comparison: seconds at a million, which the first view would otherwise wait
for (hub.campaign_page computes a small campaign's missing summary in the request, and shows a large
one's page as "being computed" until the worker is done).
"""

from __future__ import annotations

from typing import Any


def on_campaign_built(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    from hub.campaign_page import campaign_summary_request

    # Marked in flight, so that a view before the worker is done waits for it instead of queueing another.
    campaign_summary_request(campaign_id=campaign_id)
