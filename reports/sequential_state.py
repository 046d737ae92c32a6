"""Stop-when-settled bookkeeping: after each rating, recompute a campaign's cells and close what settled.

Why here and not in annotate: the interval math has one home (reports.stats.sequential, through the
report's own ``sequential_block``) and annotate may not import reports. So this updater, on the
reports side, writes each cell's running interval and closure onto ``annotate.SequentialCell`` rows,
and serving (annotate.adaptive) only reads those rows. With more than two systems it also stores
each pair's Bradley-Terry uncertainty (reports.stats.pair_uncertainty), what serving draws pairs by. Annotate announces a stored rating with the
``annotate.signals.rating_changed`` signal; ``ReportsConfig.ready`` connects ``on_rating_changed``.

A closure is a decision taken at a moment: it is recorded once (rule, time, ratings) and kept even if
later changes (an excluded rater, an undo) move the interval back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign, Rating, SequentialCell
from annotate.selectors import campaign_cell_shares, excluded_rater_ids
from annotate.services import campaign_pairs
from generation.models import ModelSpec
from reports.records import RatingRecord
from reports.sequential_report import sequential_block
from reports.stats.pair_uncertainty import pair_uncertainty

ALL_CELLS_CLOSED = "all_cells_closed"
RULE_TEXT = {
    "decided_candidate": "decided: the candidate is preferred (the interval lies above 0.5)",
    "decided_baseline": "decided: the baseline is preferred (the interval lies below 0.5)",
    "precise": "precise enough: the interval is narrower than the campaign's precision",
    ALL_CELLS_CLOSED: "every cell closed",
    "all_cells_decided_candidate": "decided: every cell's interval lies above 0.5 (the candidate is preferred)",
    "all_cells_decided_baseline": "decided: every cell's interval lies below 0.5 (the baseline is preferred)",
    "decided_all_pairs": "decided: every pair's interval excludes 0.5",
}


def sequential_records(*, campaign: Campaign) -> list[RatingRecord]:
    """The ratings the sequential figures count (no gold, no excluded rater), oldest first: a lean read.

    The same ratings, in the same order and with the same contract fields, as
    ``campaign_rating_records(exclude_gold=True)`` (a test holds them equal), without the texts,
    comments and model rows that read builds: it runs after every rating, under the campaign's lock,
    where building every rating's objects cost seconds at 10,000 ratings.
    """
    rows = (
        Rating.objects.filter(
            campaign=campaign, comparison__system_a__isnull=False, comparison__gold_answer__isnull=True
        )
        .exclude(rater_id__in=excluded_rater_ids(campaign=campaign))
        .order_by("created", "pk")
        .values_list(
            "comparison__prompt__uid", "comparison__prompt__category", "comparison__prompt__setting",
            "comparison__system_a__name", "comparison__system_b__name", "comparison__left", "choice",
            "rater__username", "seconds", "created",
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
            left=left,  # type: ignore[arg-type]
            choice=choice,  # type: ignore[arg-type]
            rater=rater,
            seconds=float(seconds),
            created=created.isoformat(),
        )
        for uid, category, setting, a, b, left, choice, rater, seconds, created in rows
    ]


def campaign_sequential_blocks(
    *, campaign: Campaign, records: Sequence[RatingRecord] | None = None
) -> list[dict[str, Any]]:
    """The ``sequential`` block of every compared pair (candidate = the pair's second system)."""
    if records is None:
        records = sequential_records(campaign=campaign)
    shares = campaign_cell_shares(campaign=campaign)
    return [
        sequential_block(
            records=records,
            baseline=a.name,
            candidate=b.name,
            cell_shares=shares,
            precision=campaign.precision,
        )
        for a, b in campaign_pairs(campaign=campaign)
    ]


def pair_standard_errors(
    *, pairs: Sequence[tuple[ModelSpec, ModelSpec]], records: Sequence[RatingRecord]
) -> dict[tuple[int, int], float]:
    """Each pair's Bradley-Terry standard error (reports.stats.pair_uncertainty), for serving by pair.

    Only with several pairs: with one, serving draws by cell width alone, as it always did.
    """
    if len(pairs) < 2:
        return {}
    systems = list(dict.fromkeys(m.name for pair in pairs for m in pair))
    known = set(systems)
    outcomes = [
        (r.system_a, r.system_b, {"a": "x", "b": "y"}.get(r.choice, "none"))
        for r in records
        if not r.is_gold and r.system_a in known and r.system_b in known
    ]
    figures = pair_uncertainty(systems, outcomes, [(a.name, b.name) for a, b in pairs])
    return {(a.pk, b.pk): figures[(a.name, b.name)].se for a, b in pairs}


def campaign_sequential_refresh(*, campaign_id: int, now: datetime | None = None) -> Campaign | None:
    """Update the cells of a stop-when-settled campaign and close the cells (and campaign) that settled."""
    now = now or timezone.now()
    with transaction.atomic():
        # One refresh at a time per campaign: a refresh reading an older snapshot must not overwrite a newer one.
        campaign = (
            Campaign.objects.select_for_update()
            .filter(pk=campaign_id, stop_when_settled=True, settled_at__isnull=True)
            .first()
        )
        if campaign is None:
            return None
        pairs = campaign_pairs(campaign=campaign)
        records = sequential_records(campaign=campaign)
        blocks = campaign_sequential_blocks(campaign=campaign, records=records)
        pair_se = pair_standard_errors(pairs=pairs, records=records)
        cells = {
            (c.system_a_id, c.system_b_id, c.category, c.setting): c
            for c in SequentialCell.objects.filter(campaign=campaign)
        }
        settled_pairs = 0
        for (a, b), block in zip(pairs, blocks, strict=True):
            settled_pairs += block["rule"] is not None
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
                    cell.closed_rule, cell.closed_at, cell.closed_after = (
                        figures["rule"],
                        now,
                        figures["ratings"],
                    )
                cell.save()
                cells[key] = cell
        rule = None
        if blocks and len(pairs) == 1 and blocks[0]["rule"]:
            rule = blocks[0]["rule"]
        elif blocks and settled_pairs == len(pairs):
            rule = "decided_all_pairs"
        elif cells and not any(c.is_open for c in cells.values()):
            # Every cell decided the same way: a valid decision for the share-weighted rate too (were
            # that rate on the other side of 0.5, some cell's would be, and it errs with chance <= alpha).
            rules = {c.closed_rule for c in cells.values()}
            same = len(rules) == 1 and next(iter(rules)).startswith("decided_")
            rule = f"all_cells_{next(iter(rules))}" if same else ALL_CELLS_CLOSED
        if rule is not None:
            campaign.settled_rule, campaign.settled_at = rule, now
            campaign.settled_after = (
                blocks[0]["ratings"] if len(pairs) == 1 else sum(b["ratings"] for b in blocks)
            )
            campaign.status = Campaign.Status.CLOSED
            campaign.save(update_fields=["settled_rule", "settled_at", "settled_after", "status"])
    return campaign


def on_rating_changed(sender: object, *, campaign: Campaign, **kwargs: object) -> None:
    """Thin receiver: only stop-when-settled campaigns have anything to update."""
    if campaign.stop_when_settled:
        campaign_sequential_refresh(campaign_id=campaign.pk)


def campaign_sequential_view(*, campaign: Campaign) -> dict[str, Any]:
    """What the campaign page shows: the blocks as they are now, the stored cells and why it stopped."""
    stored = {
        (c.system_a.name, c.system_b.name, c.category, c.setting): c
        for c in SequentialCell.objects.filter(campaign=campaign).select_related("system_a", "system_b")
    }
    blocks = campaign_sequential_blocks(campaign=campaign)
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
                reason = RULE_TEXT.get(cell.closed_rule, cell.closed_rule)
                figures["state"] = f"closed {when} after {cell.closed_after} ratings: {reason}"
    return {
        "enabled": campaign.stop_when_settled,
        "blocks": blocks,
        "settled_text": RULE_TEXT.get(campaign.settled_rule, campaign.settled_rule.replace("_", " ")),
    }
