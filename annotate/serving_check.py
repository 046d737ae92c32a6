"""Recounting serving's counters from the rows and naming any drift (issue 31; `manage.py serving_check`).

Three counters are kept incrementally: `Comparison.taken` (annotate.leases), the campaign tallies
(annotate.serving_models, by triggers) and, in stop-when-settled campaigns, the cell tallies
(`SettleTally`, by triggers, over the cell each comparison names: annotate.settle_cells). Each may only ever be exact, except that `taken` may be
too high once a counted lease ran out, which `lease_check_at` (then in the past) owns up to. Anything
else is drift: a bug in whatever wrote them, which this reports so that tests and operators see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q
from django.db.models.functions import Mod
from django.utils import timezone

from annotate.leases import taken_expression
from annotate.models import Campaign, Comparison, ServingTally, SettleTally
from annotate.selectors import excluded_rater_ids
from annotate.serving_models import SLOTS


@dataclass(frozen=True)
class Drift:
    campaign: str
    what: str
    stored: int
    counted: int

    def __str__(self) -> str:
        return f"campaign {self.campaign!r}: {self.what} is {self.stored}, recounted {self.counted}"


def _tally_drift(campaign: Campaign) -> list[Drift]:
    counted = {
        int(row["slot"]): (row["open"], row["gold"])
        for row in Comparison.objects.filter(campaign=campaign)
        .annotate(slot=Mod(F("id"), SLOTS))
        .values("slot")
        .annotate(
            open=Count("pk", filter=Q(gold_answer__isnull=True, taken__lt=F("needed"))),
            gold=Count("pk", filter=Q(gold_answer__isnull=False)),
        )
        .order_by()
    }
    stored = {
        row.slot: (row.open_items, row.gold_items) for row in ServingTally.objects.filter(campaign=campaign)
    }
    drift = []
    for slot in sorted(set(counted) | set(stored)):
        (open_stored, gold_stored), (open_counted, gold_counted) = (
            stored.get(slot, (0, 0)),
            counted.get(slot, (0, 0)),
        )
        if open_stored != open_counted:
            drift.append(Drift(campaign.name, f"open items of slot {slot}", open_stored, open_counted))
        if gold_stored != gold_counted:
            drift.append(Drift(campaign.name, f"gold checks of slot {slot}", gold_stored, gold_counted))
    return drift


def _cell_drift(campaign: Campaign) -> list[Drift]:
    """A stop-when-settled campaign's cell tallies against a recount, and its comparisons' cells."""
    if not campaign.stop_when_settled:
        return []
    rows = Comparison.objects.filter(campaign=campaign, cell__isnull=False)
    counted = {
        (row["cell_id"], int(row["slot"])): row["open"]
        for row in rows.annotate(slot=Mod(F("id"), SLOTS))
        .values("cell_id", "slot")
        .annotate(open=Count("pk", filter=Q(gold_answer__isnull=True, taken__lt=F("needed"))))
        .order_by()
    }
    stored = {
        (cell, slot): n
        for cell, slot, n in SettleTally.objects.filter(cell__campaign=campaign).values_list(
            "cell_id", "slot", "open_items"
        )
    }
    drift = []
    for cell, slot in sorted(set(counted) | set(stored)):
        had, has = stored.get((cell, slot), 0), counted.get((cell, slot), 0)
        if had != has:
            drift.append(Drift(campaign.name, f"open items of cell {cell} slot {slot}", had, has))
    # Every regular comparison is in the cell of its own pair, category and setting.
    regular = Comparison.objects.filter(campaign=campaign, system_a__isnull=False, system_b__isnull=False)
    astray = regular.filter(
        Q(cell__isnull=True)
        | ~Q(cell__campaign_id=F("campaign_id"))
        | ~Q(cell__system_a_id=F("system_a_id"))
        | ~Q(cell__system_b_id=F("system_b_id"))
        | ~Q(cell__category=F("prompt__category"))
        | ~Q(cell__setting=F("prompt__setting"))
    ).count()
    if astray:
        drift.append(Drift(campaign.name, "comparisons outside their own cell", astray, 0))
    return drift


def _taken_drift(campaign: Campaign, now: datetime) -> list[Drift]:
    rows = (
        Comparison.objects.filter(campaign=campaign)
        .annotate(exact=taken_expression(excluded=excluded_rater_ids(campaign=campaign), now=now))
        .exclude(taken=F("exact"))
        .values_list("pk", "taken", "exact", "lease_check_at")
    )
    drift = []
    for pk, taken, exact, check_at in rows:
        # Too high is allowed once a counted lease may have run out: serving counts again then.
        if taken > exact and check_at is not None and check_at <= now:
            continue
        drift.append(Drift(campaign.name, f"taken of comparison {pk}", taken, exact))
    return drift


def serving_drift(*, campaigns: list[Campaign] | None = None, now: datetime | None = None) -> list[Drift]:
    """Every counter of these campaigns (all by default) that differs from a recount of its rows."""
    now = now or timezone.now()
    drift: list[Drift] = []
    for campaign in campaigns if campaigns is not None else Campaign.objects.order_by("pk"):
        drift += _tally_drift(campaign) + _cell_drift(campaign) + _taken_drift(campaign, now)
    return drift
