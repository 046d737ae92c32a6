"""Stop when settled: keep a campaign's cells up to date with its ratings, and close what settled.

The rating, undo, exclusion and inclusion services ask for a refresh (annotate.settle_queue) once
their transaction commits, and a worker runs it here (``campaign_settle``, from annotate.tasks), off
the rating request. At most one refresh per campaign is in flight: requests that arrive while one
runs are counted (annotate.settle_state) and make it run again, never a second task beside it.

A refresh (``campaign_settle_refresh``) recomputes every cell's anytime-valid interval with the
report's own ``analysis.settling.sequential_block`` and writes it on ``SequentialCell`` rows, which
serving (annotate.adaptive) reads; with more than two systems it also stores each pair's
Bradley-Terry uncertainty, what serving draws pairs by. A closure is a decision taken at a moment:
it is recorded once (rule, time, ratings) and kept when an undo moves the interval back. An
exclusion or inclusion is different: it changes which ratings count, so the refresh it asks for
reconsiders every closure, and a campaign excluded raters had settled opens again if the interval
of the ratings that remain no longer settles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from analysis.columns import RatingColumns
from analysis.records import RatingRecord
from analysis.settling import campaign_rule, rule_text, sequential_block, stop_reason
from analysis.stats.pair_uncertainty import pair_uncertainty
from annotate.campaign_status import campaign_status_set
from annotate.models import Campaign, CampaignSettling, Rating, SequentialCell
from annotate.selectors import campaign_cell_shares, campaign_pairs, campaign_stop_design, excluded_rater_ids
from annotate.serving_models import BY_TIME
from annotate.settle_stall import campaign_stall_mark, stall_remedy
from annotate.settle_state import settle_pass_begin, settle_pass_end, settle_release
from core.events import campaign_settled, event_send_on_commit
from generation.models import ModelSpec

# Refreshes one task runs back to back while requests keep arriving, before it hands over to a new task.
SETTLE_PASSES = 20


def campaign_settle(*, campaign_id: int) -> bool:
    """What the queued task runs: refresh until no request came in meanwhile, then mark none in flight.

    Returns True when requests were still arriving after ``SETTLE_PASSES`` refreshes: the task then
    queues a fresh one, which stays the one in flight.
    """
    state_id = CampaignSettling.objects.filter(campaign_id=campaign_id).values_list("pk", flat=True).first()
    if state_id is None:
        return False
    for _ in range(SETTLE_PASSES):
        requested, reconsider = settle_pass_begin(state_id=state_id)
        try:
            campaign_settle_refresh(campaign_id=campaign_id, reconsider=reconsider)
        except BaseException:
            settle_release(state_id=state_id, reconsider=reconsider)
            raise
        if settle_pass_end(state_id=state_id, requested=requested):
            return False
    settle_release(state_id=state_id, requeued=True)
    return True


def settling_records(*, campaign: Campaign) -> list[RatingRecord]:
    """The ratings the sequential figures count (no gold, no excluded rater), oldest first: a lean read.

    The same ratings, in the same order and with the same contract fields, as the reports' records
    without gold (a test holds them equal), without the texts, comments and model rows they carry:
    building those for every rating cost seconds at 10,000 ratings.
    """
    rows = (
        Rating.objects.filter(  # BY_TIME: oldest first, from rating_campaign_created (annotate.serving_models)
            BY_TIME, campaign=campaign, comparison__system_a__isnull=False, comparison__gold_answer__isnull=True
        )
        .exclude(rater_id__in=excluded_rater_ids(campaign=campaign))
        .order_by("created", "pk")
        .values_list(
            "comparison__prompt__uid", "comparison__prompt__category", "comparison__prompt__setting",
            "comparison__system_a__name", "comparison__system_b__name", "comparison__system_on_left",
            "choice", "rater__username", "seconds", "created",
        )
    )  # fmt: skip
    return [
        RatingRecord(
            campaign=campaign.name,
            prompt_id=uid,
            category=category,
            setting=setting,
            system_a=a,
            system_b=b,
            system_on_left=on_left,  # type: ignore[arg-type]
            choice=choice,  # type: ignore[arg-type]
            rater=rater,
            seconds=float(seconds),
            created=created.isoformat(),
        )
        for uid, category, setting, a, b, on_left, choice, rater, seconds, created in rows
    ]


def campaign_sequential_blocks(
    *,
    campaign: Campaign,
    records: Sequence[RatingRecord] | None = None,
    columns: RatingColumns | None = None,
) -> list[dict[str, Any]]:
    """The ``sequential`` block of every compared pair (candidate = the pair's second system).

    ``columns``: the ratings ``settling_records`` reads, as columns a caller read already (the campaign
    page's, less gold and excluded raters); else ``records``, else read here.
    """
    if columns is None:
        columns = RatingColumns.from_records(records or settling_records(campaign=campaign))
    shares = campaign_cell_shares(campaign=campaign)
    design = campaign_stop_design(campaign=campaign)
    return [
        sequential_block(
            records=columns,
            baseline=a.name,
            candidate=b.name,
            cell_shares=shares,
            design=design,
        )
        for a, b in campaign_pairs(campaign=campaign)
    ]


def pair_standard_errors(
    *, pairs: Sequence[tuple[ModelSpec, ModelSpec]], records: Sequence[RatingRecord]
) -> dict[tuple[int, int], float]:
    """Each pair's Bradley-Terry standard error (analysis.stats.pair_uncertainty), for serving by pair.

    Only with several pairs: with one, serving draws by cell width alone.
    """
    if len(pairs) < 2:
        return {}
    systems = list(dict.fromkeys(m.name for pair in pairs for m in pair))
    known = set(systems)
    outcomes = [
        (r.system_a, r.system_b, r.pair_result)
        for r in records
        if not r.is_gold and r.system_a in known and r.system_b in known
    ]
    figures = pair_uncertainty(systems, outcomes, [(a.name, b.name) for a, b in pairs])
    return {(a.pk, b.pk): figures[(a.name, b.name)].se for a, b in pairs}


def campaign_settle_refresh(
    *, campaign_id: int, now: datetime | None = None, reconsider: bool = False
) -> Campaign | None:
    """Update the cells of a stop-when-settled campaign and close the cells (and campaign) that settled.

    The campaign closes (status too, as the crowd's end page expects) when its intervals settle, lie
    inside the equivalence band, or its ratings reach the cap (``campaign_rule``). Ratings already
    leased when it closes may still come in, so a capped campaign can end a few ratings past its cap.
    Without ``reconsider`` a settled campaign is left as it is and closed cells stay closed. With it,
    every closure is taken again: cells whose interval no longer settles open, and so does a settled
    campaign whose rule no longer holds (through ``campaign_status_set``, back to open).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # One refresh at a time per campaign: a refresh reading an older snapshot must not overwrite a newer one.
        found = Campaign.objects.select_for_update().filter(pk=campaign_id, stop_when_settled=True)
        if not reconsider:
            found = found.filter(settled_at__isnull=True)
        campaign = found.first()
        if campaign is None:
            return None
        pairs = campaign_pairs(campaign=campaign)
        records = settling_records(campaign=campaign)
        blocks = campaign_sequential_blocks(campaign=campaign, records=records)
        pair_se = pair_standard_errors(pairs=pairs, records=records)
        cells = _cells_write(
            campaign=campaign, pairs=pairs, blocks=blocks, pair_se=pair_se, now=now, reconsider=reconsider
        )
        rule = campaign_rule(
            blocks=blocks, cell_rules=[cell.closed_rule for cell in cells], max_ratings=campaign.max_ratings
        )
        if rule is not None and campaign.settled_at is None:
            campaign.settled_rule, campaign.settled_at = rule, now
            campaign.settled_after = sum(block["ratings"] for block in blocks)
            campaign.save(update_fields=["settled_rule", "settled_at", "settled_after"])
            campaign_status_set(campaign=campaign, status=Campaign.Status.CLOSED)
            event_send_on_commit(campaign_settled, sender=Campaign, campaign_id=campaign.pk)
        elif rule is None and campaign.settled_at is not None:
            campaign.settled_rule, campaign.settled_at, campaign.settled_after = "", None, None
            campaign.save(update_fields=["settled_rule", "settled_at", "settled_after"])
            if campaign.status == Campaign.Status.CLOSED:
                campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
        campaign_stall_mark(campaign=campaign, now=now)
    return campaign


def _cells_write(
    *,
    campaign: Campaign,
    pairs: Sequence[tuple[ModelSpec, ModelSpec]],
    blocks: Sequence[dict[str, Any]],
    pair_se: dict[tuple[int, int], float],
    now: datetime,
    reconsider: bool,
) -> list[SequentialCell]:
    """Write every cell's figures and closure; returns every cell of the campaign."""
    cells = {
        (c.system_a_id, c.system_b_id, c.category, c.setting): c
        for c in SequentialCell.objects.filter(campaign=campaign)
    }
    for (a, b), block in zip(pairs, blocks, strict=True):
        for figures in block["by_cell"]:
            key = (a.pk, b.pk, figures["category"], figures["setting"])
            cell = cells.get(key) or SequentialCell(
                campaign=campaign, system_a=a, system_b=b, category=key[2], setting=key[3]
            )
            cell.share = figures["share"]
            cell.ratings = figures["ratings"]
            cell.decisive = figures["decisive"]
            cell.ci_low, cell.ci_high = figures["ci_low"], figures["ci_high"]
            cell.pair_se = pair_se.get((a.pk, b.pk))
            if cell.is_open and figures["rule"]:
                cell.closed_rule, cell.closed_at, cell.closed_after = figures["rule"], now, figures["ratings"]
            elif reconsider and not cell.is_open and not figures["rule"]:
                cell.closed_rule, cell.closed_at, cell.closed_after = "", None, None
            cell.save()
            cells[key] = cell
    return list(cells.values())


def campaign_settling_view(*, campaign: Campaign, columns: RatingColumns | None = None) -> dict[str, Any]:
    """What the campaign page shows: the blocks as they are now, the stored cells and why it stopped.

    ``columns``: as for ``campaign_sequential_blocks``; the page passes the ratings it read once.
    """
    stored = {
        (c.system_a.name, c.system_b.name, c.category, c.setting): c
        for c in SequentialCell.objects.filter(campaign=campaign).select_related("system_a", "system_b")
    }
    blocks = campaign_sequential_blocks(campaign=campaign, columns=columns)
    for block in blocks:
        for figures in block["by_cell"]:
            cell = stored.get(
                (block["baseline"], block["candidate"], figures["category"], figures["setting"])
            )
            if cell is None or cell.is_open:
                figures["state"] = "open" if campaign.stop_when_settled else "—"
            else:
                when = (
                    timezone.localtime(cell.closed_at).strftime("%Y-%m-%d %H:%M:%S") if cell.closed_at else ""
                )
                figures["state"] = (
                    f"closed {when} after {cell.closed_after} ratings: {rule_text(cell.closed_rule)}"
                )
    for block in blocks:
        # The campaign's record says why it stopped, as in its report (reports.sources.report_of).
        block["stopped"] = stop_reason(campaign.settled_rule)
    return {
        "enabled": campaign.stop_when_settled,
        "blocks": blocks,
        "settled_text": rule_text(campaign.settled_rule),
        "stopped": stop_reason(campaign.settled_rule),
        "stall_remedy": stall_remedy(
            campaign=campaign, ratings=sum(block["ratings"] for block in blocks) if blocks else None
        ),
    }
