"""The one door from annotate to the reports: a campaign's ratings as rating records, systems unblinded."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import OuterRef, Subquery

from annotate.models import Assignment, Campaign, Rating
from annotate.recruiting.links import external_ids
from annotate.selectors import campaign_cell_shares, excluded_rater_ids
from reports.campaign_judge import campaign_judge_input
from reports.campaign_quality import excluded_raters_block, quality_flags_block
from reports.exports import ExportError, ReportSource
from reports.records import RatingRecord


def campaign_rating_records(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> list[RatingRecord]:
    """Every rating of the campaign, oldest first.

    Raters a researcher excluded from the campaign are left out unless `include_excluded_raters`;
    `exclude_raters` (usernames) leaves out more. Uploaded gold pairs compare no systems and are
    never exported; comparisons marked gold are exported with `is_gold=True` unless `exclude_gold`.
    """
    ratings = (
        Rating.objects.filter(campaign=campaign, comparison__system_a__isnull=False)
        .select_related(
            "rater", "comparison__prompt", "comparison__system_a", "comparison__system_b", "comparison__texts"
        )
        .annotate(
            first_choice=Subquery(
                Assignment.objects.filter(rater=OuterRef("rater"), comparison=OuterRef("comparison")).values(
                    "first_choice"
                )[:1]
            )
        )
        .order_by("created", "pk")
    )
    skip = {name for name in exclude_raters if name}
    if skip:
        ratings = ratings.exclude(rater__username__in=skip)
    if not include_excluded_raters:
        ratings = ratings.exclude(rater_id__in=excluded_rater_ids(campaign=campaign))
    if exclude_gold:
        ratings = ratings.filter(comparison__gold_answer__isnull=True)
    crowd = external_ids(campaign=campaign)
    records = []
    for rating in ratings:
        comparison = rating.comparison
        prompt = comparison.prompt
        assert comparison.system_a is not None and comparison.system_b is not None
        records.append(
            RatingRecord(
                campaign=campaign.name,
                prompt_id=prompt.uid,
                category=prompt.category,
                setting=prompt.setting,
                system_a=comparison.system_a.name,
                system_b=comparison.system_b.name,
                left=comparison.left,  # type: ignore[arg-type]
                # A gold check is scored on the rater's first answer: undo cannot re-answer it.
                choice=(
                    rating.first_choice or rating.choice  # type: ignore[arg-type]
                    if comparison.gold_answer is not None
                    else rating.choice
                ),
                rater=rating.rater.username,
                seconds=float(rating.seconds),
                created=rating.created.isoformat(),
                comment=rating.comment,
                is_gold=comparison.gold_answer is not None,
                gold_choice=comparison.gold_answer or "",
                prompt_text=prompt.text,
                text_a=comparison.texts.text_a,
                text_b=comparison.texts.text_b,
                **dict(
                    zip(
                        ("external_id", "study_id", "session_id"),
                        crowd.get(rating.rater_id, ("", "", "")),
                        strict=True,
                    )
                ),
            )
        )
    return records


def source_from_campaign(
    *, name: str, exclude_raters: Sequence[str] = (), exclude_gold: bool = False
) -> ReportSource:
    """The records of the campaign called `name`, in the campaign's system order; `ExportError` if none."""
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is None:
        raise ExportError(f"no campaign named {name!r}")
    records = campaign_rating_records(
        campaign=campaign, exclude_raters=tuple(exclude_raters), exclude_gold=exclude_gold
    )
    excluded = excluded_raters_block(campaign=campaign)
    # The flags are every rater's own numbers, gold included, whatever this report leaves out.
    everyone = (
        campaign_rating_records(campaign=campaign, include_excluded_raters=True)
        if excluded or exclude_raters or exclude_gold
        else records
    )
    return ReportSource(
        records=records,
        system_order=list(campaign.system_names()),
        label=name,
        cell_shares=campaign_cell_shares(campaign=campaign),
        precision=campaign.precision,
        judge=campaign_judge_input(campaign=campaign, exclude_raters=exclude_raters),
        excluded_raters=excluded,
        quality_flags=quality_flags_block(campaign=campaign, records=everyone),
    )
