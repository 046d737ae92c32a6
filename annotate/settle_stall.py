"""A stop-when-settled campaign whose open cells ran out of items: a stall, detected and announced.

Serving gives raters items of the open cells only (annotate.adaptive). When every item of every open
cell has all the ratings it needs while the cells' intervals are still undecided, nobody is served
anything and the campaign would stay open forever. The settling refresh checks for it after writing
the cells (``campaign_stall_mark``), records when it began on the campaign (``stalled_at``), and fires
``annotate.signals.campaign_stalled`` plus a log line named ``campaign_stalled`` once per stall; a
change that gives the open cells room again (more ratings per item, an excluded rater's items) clears it,
and a cap or an equivalence margin ends it by closing the campaign (``stall_remedy`` says so).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q

from annotate.models import Campaign, Comparison, SequentialCell
from annotate.selectors import excluded_rater_ids
from annotate.signals import campaign_stalled

logger = logging.getLogger(__name__)

STALL_REASON = "open cells out of items"


def stall_remedy(*, campaign: Campaign, ratings: int | None = None) -> str:
    """What to do about a stall, in words, pointing to the cap and the equivalence stop: each ends a
    campaign whose open cells will not settle. ``ratings``: the ratings given so far, when known."""
    given = f" to the {ratings} given" if ratings is not None else ""
    steps = ["raise the ratings per item on the edit page so that raters are served those items again"]
    if campaign.max_ratings is not None:
        steps.append(
            f"or lower the cap on ratings (now {campaign.max_ratings}){given}: the campaign then stops at "
            "once as not settled, and reports its interval"
        )
    else:
        steps.append(
            "or set a cap on ratings: the campaign then stops as not settled and reports its interval"
        )
    if campaign.equivalence_margin is not None:
        steps.append(
            f"its equivalence margin closes a cell only once the interval lies inside 0.5 ± "
            f"{campaign.equivalence_margin:g}, which these cells have not reached"
        )
    else:
        steps.append(
            "or set an equivalence margin, which settles a cell as no meaningful difference once its "
            "interval lies inside 0.5 ± the margin"
        )
    return "; ".join(steps)


def open_cells_out_of_items(*, campaign: Campaign) -> bool:
    """True when the campaign has open cells and none of their items needs another rating."""
    open_cells = set(
        SequentialCell.objects.filter(campaign=campaign, closed_rule="").values_list(
            "system_a_id", "system_b_id", "category", "setting"
        )
    )
    if not open_cells:
        return False
    excluded = excluded_rater_ids(campaign=campaign)
    with_room = (
        Comparison.objects.filter(campaign=campaign, gold_answer__isnull=True, system_a__isnull=False)
        .annotate(counted=Count("ratings", filter=~Q(ratings__rater_id__in=excluded)))
        .filter(counted__lt=F("needed"))
        .values_list("system_a_id", "system_b_id", "prompt__category", "prompt__setting")
        .distinct()
    )
    return not open_cells & set(with_room)


def campaign_stall_mark(*, campaign: Campaign, now: datetime) -> None:
    """Record a stall's start (and announce it once, after commit) or its end; inside the refresh."""
    stalled = campaign.settled_at is None and open_cells_out_of_items(campaign=campaign)
    if stalled and campaign.stalled_at is None:
        campaign.stalled_at = now
        campaign.save(update_fields=["stalled_at"])
        campaign_id = campaign.pk
        transaction.on_commit(lambda: _announce(campaign_id=campaign_id))
    elif not stalled and campaign.stalled_at is not None:
        campaign.stalled_at = None
        campaign.save(update_fields=["stalled_at"])


def _announce(*, campaign_id: int) -> None:
    campaign = Campaign.objects.filter(pk=campaign_id, stalled_at__isnull=False).first()
    if campaign is None:
        return  # it ended before the refresh committed
    logger.warning(
        "campaign_stalled campaign=%s name=%r reason=%r remedy=%r",
        campaign.pk,
        campaign.name,
        STALL_REASON,
        stall_remedy(campaign=campaign),
    )
    campaign_stalled.send(sender=Campaign, campaign=campaign, reason=STALL_REASON)
