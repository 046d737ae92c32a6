"""What happened, announced for whoever listens (the API's webhooks), so that no app imports them.

Each signal is sent once the change is committed (or, outside a transaction, at once), with plain
keyword arguments. Receivers must be quick and must not fail the sender: the webhook receiver only
queues work on the `default` queue.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# job=<a core.models.Job subclass instance>, status="done"|"failed": a job reached its end.
job_ended = Signal()
# campaign_id=int: a stop-when-settled campaign settled and closed.
campaign_settled = Signal()
# campaign_id=int: a new rating was stored (completion and quality flags are judged by the listener).
campaign_rated = Signal()
# campaign_id=int: a campaign's comparisons are all written (its page's summary can be computed).
campaign_built = Signal()


def event_send_on_commit(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send `signal` after the current transaction commits; a receiver's error is logged, never raised."""
    transaction.on_commit(lambda: signal.send_robust(sender=sender, **kwargs))
