"""A researcher asks for one more rating of a comparison (from the results browser)."""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from annotate.errors import CampaignError
from annotate.models import Comparison
from annotate.page_version import campaign_page_touch

logger = logging.getLogger("annotate.results")


def comparison_request_rating(*, comparison: Comparison, by: User) -> Comparison:
    """Raise the comparison's `needed` by one, so serving hands it to one more rater; returns it fresh.

    Serving's invariant (ratings + active leases <= `needed`, see annotate.assignment) is kept by
    changing `needed` only under the comparison's row lock, the lock serving and rating take. Gold
    checks have no capacity (every rater gets each once), so asking for more of one is refused.
    Who asked is recorded as a log line on the "annotate.results" logger.
    """
    with transaction.atomic():
        locked = (
            Comparison.objects.select_for_update(of=("self",))
            .only("pk", "campaign_id", "needed", "gold_answer")
            .filter(pk=comparison.pk)
            .first()
        )
        if locked is None:
            raise CampaignError("this comparison no longer exists")
        if locked.gold_answer is not None:
            raise CampaignError(
                "this is a gold check: every rater is served it once, so there is no count of ratings to raise"
            )
        Comparison.objects.filter(pk=locked.pk).update(needed=F("needed") + 1)
        locked.refresh_from_db(fields=["needed"])
        # An item that still had room keeps the serving counters as they were: say it to the page's cache.
        transaction.on_commit(lambda: campaign_page_touch(campaign_id=locked.campaign_id))
    comparison.needed = locked.needed
    logger.info(
        "rating requested: comparison %s of campaign %s by %s (needed now %s)",
        locked.pk,
        locked.campaign_id,
        by.get_username(),
        locked.needed,
    )
    return comparison
