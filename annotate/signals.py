"""The annotate app's events, for whatever listens (the future webhooks among them).

``campaign_stalled``: a stop-when-settled campaign's open cells ran out of items (annotate.settle_stall);
sent once per stall, after the refresh that found it commits, with ``campaign`` and ``reason``.
"""

from __future__ import annotations

from django.dispatch import Signal

campaign_stalled = Signal()
