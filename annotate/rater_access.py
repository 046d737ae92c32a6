"""Which campaigns a rater may rate in, and the rater's own order of a campaign's items."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from annotate.models import ORDER_PRIME, Campaign, RaterExclusion
from annotate.recruiting_models import ExternalRater
from core.statements import QueryStatement


def rater_campaigns(*, rater: User) -> QuerySet[Campaign]:
    """Open campaigns the rater is in and not excluded from."""
    return (
        Campaign.objects.filter(status=Campaign.Status.OPEN, raters=rater)
        .exclude(exclusions__rater=rater)
        .order_by("created", "pk")
    )


def _excluded_ids_sql() -> str:
    """A subquery listing a campaign's excluded rater ids as "1,5,9" (folded into the campaign read)."""
    table = RaterExclusion._meta.db_table
    campaign_table = Campaign._meta.db_table
    joined = (
        "string_agg(rater_id::text, ',')"
        if connection.vendor == "postgresql"
        else "group_concat(rater_id, ',')"
    )
    return f"(SELECT {joined} FROM {table} WHERE campaign_id = {campaign_table}.id)"


def _build_rater_campaign(values: Mapping[str, Any]) -> QuerySet[Campaign]:
    # Whether a crowd session bounds this rater (annotate.recruiting.sessions): read here, so that
    # raters without one pay no query for it on the rating path.
    sized = Q(campaign__recruiting__session_items__gt=0) | Q(campaign__recruiting__session_minutes__gt=0)
    bound = ExternalRater.objects.filter(sized, campaign=OuterRef("pk"), user_id=values["rater"])
    return (
        rater_campaigns(rater=User(pk=values["rater"]))
        .filter(pk=values["campaign"])
        .annotate(
            excluded_ids=RawSQL(_excluded_ids_sql(), [], output_field=CharField()),
            session_bound=Exists(bound),
        )
    )


# Read on every rating call: compiled once per process (core.statements).
_RATER_CAMPAIGN = QueryStatement(_build_rater_campaign, ints=("rater", "campaign"))


def rater_campaign(*, rater: User, campaign_id: int) -> tuple[Campaign, list[int]] | None:
    """The open campaign the rater may rate in and its excluded rater ids, in one read; None if not theirs."""
    if not -(2**63) <= campaign_id < 2**63:  # no such id, and SQLite cannot bind it
        return None
    campaign = _RATER_CAMPAIGN.first("rater_campaign", rater=rater.pk, campaign=campaign_id)
    if campaign is None:
        return None
    listed: str = campaign.excluded_ids or ""  # type: ignore[attr-defined]
    return campaign, sorted(int(pk) for pk in listed.split(",") if pk)


def rater_order(*, campaign: Campaign, rater: User, step: int = 0) -> tuple[int, int]:
    """The rater's order of the campaign at their `step` (ratings given so far): (a, b) in key -> (key * a + b) mod p.

    A rotation (a is 1) from a start drawn afresh at each step, keyed with the site secret so it is
    stable for a rater at a step (a reload shows the same item) and unguessable, and independent of
    anything about the systems. Each next item is thus a uniform draw among those left to the rater,
    no two raters walk the same sequence, and serving finds it by walking an index from the start
    (annotate.picking) instead of sorting the campaign (issue 31).
    """
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"order:{campaign.pk}:{rater.pk}:{step}".encode(), hashlib.sha256
    ).digest()
    return 1, int.from_bytes(digest[8:16], "big") % ORDER_PRIME
