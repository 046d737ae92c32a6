"""Claiming a chunk of a job: the one rule every chunked job (generation, judging) uses.

A chunk is free when pending, or when running with a heartbeat older than `stale_seconds` (its
worker died) or none at all. The claim is a conditional update on the state that was read, so two
workers that race for one chunk cannot both win it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

ChunkT = TypeVar("ChunkT", bound=Model)


def chunk_claim(chunks: QuerySet[ChunkT], *, worker: str, stale_seconds: float) -> ChunkT | None:
    """The first free chunk of `chunks` (by index), now running for `worker`; None when none is free."""
    model: Any = chunks.model
    pending, running = model.Status.PENDING, model.Status.RUNNING
    now = timezone.now()
    stale = now - timedelta(seconds=stale_seconds)
    candidates = chunks.filter(
        Q(status=pending) | Q(status=running, heartbeat__lt=stale) | Q(status=running, heartbeat__isnull=True)
    ).order_by("index")
    for chunk in candidates:
        seen: Any = chunk
        same = model.objects.filter(pk=seen.pk, status=seen.status)
        same = (
            same.filter(heartbeat=seen.heartbeat) if seen.heartbeat else same.filter(heartbeat__isnull=True)
        )
        if same.update(status=running, worker=worker, heartbeat=now):
            chunk.refresh_from_db()
            return chunk
    return None
