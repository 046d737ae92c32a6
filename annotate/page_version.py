"""What a campaign page's summary is made from, as one fingerprint, so the page can keep the summary.

The campaign page's figures (progress, stall and feasibility, each rater's agreement and flags, the
preference and sequential estimates) read every comparison and every rating: seconds at a million.
hub.campaign_page keeps them in Django's cache under this fingerprint, which changes with whatever
they depend on and costs a few indexed reads:
- the campaign's ratings: their number and the first and last times (the app never changes a rating
  in place; undo deletes it, and a new one is the latest), read from one index (migration 0016);
- the serving counters (items with room, gold checks), the closed sequential cells, the pool, the
  excluded raters, the gold-accuracy threshold and every field of the campaign row;
- an epoch, moved by the writes none of those show: `needed` raised on an item that still has room,
  a gold answer changed in place (`campaign_page_touch`).
The epoch lives in the cache itself: with the per-process default cache, a write made in another
process (a worker) reaches a page only through the other parts.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db.models import Count, Max, Min, Sum

from annotate.models import Campaign, RaterExclusion, Rating, SequentialCell, ServingTally
from annotate.recruiting_models import CampaignRecruiting
from annotate.serving_models import BY_TIME


def _epoch_key(campaign_id: int) -> str:
    return f"campaign-page-epoch:{campaign_id}"


def campaign_page_touch(*, campaign_id: int) -> None:
    """Say that the campaign's page summary is out of date (a write the fingerprint does not see)."""
    key = _epoch_key(campaign_id)
    try:
        cache.incr(key)
    except ValueError:  # not there yet (or evicted): any new value differs from the missing one
        cache.set(key, 1, timeout=None)


def campaign_page_fingerprint(*, campaign: Campaign) -> str:
    """A digest that changes whenever the campaign page's summary would."""
    ratings = Rating.objects.filter(BY_TIME, campaign=campaign).aggregate(
        n=Count("pk"), first=Min("created"), last=Max("created")
    )
    tallies = ServingTally.objects.filter(campaign=campaign).aggregate(
        open=Sum("open_items"), gold=Sum("gold_items")
    )
    parts = (
        sorted(ratings.items()),
        sorted(tallies.items()),
        list(SequentialCell.objects.filter(campaign=campaign).order_by("pk").values_list("pk", "closed_at")),
        sorted(campaign.raters.values_list("pk", flat=True)),
        sorted(RaterExclusion.objects.filter(campaign=campaign).values_list("rater_id", flat=True)),
        list(
            CampaignRecruiting.objects.filter(campaign=campaign).values_list("gold_accuracy_min", flat=True)
        ),
        [(f.attname, getattr(campaign, f.attname)) for f in Campaign._meta.concrete_fields],
        cache.get(_epoch_key(campaign.pk), 0),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
