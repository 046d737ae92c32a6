"""A campaign's ratings as the reports see them: one RatingRecord per rating, systems unblinded."""

from __future__ import annotations

from collections.abc import Iterable

from annotate.models import Campaign, RaterExclusion, Rating
from reports.records import RatingRecord


def campaign_rating_records(
    *,
    campaign: Campaign,
    exclude_raters: Iterable[str] = (),
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
        .select_related("rater", "comparison__prompt", "comparison__system_a", "comparison__system_b")
        .order_by("created", "pk")
    )
    skip = {name for name in exclude_raters if name}
    if skip:
        ratings = ratings.exclude(rater__username__in=skip)
    if not include_excluded_raters:
        excluded = RaterExclusion.objects.filter(campaign=campaign).values("rater_id")
        ratings = ratings.exclude(rater_id__in=excluded)
    if exclude_gold:
        ratings = ratings.filter(comparison__gold_answer__isnull=True)
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
                choice=rating.choice,  # type: ignore[arg-type]
                rater=rating.rater.username,
                seconds=float(rating.seconds),
                created=rating.created.isoformat(),
                comment=rating.comment,
                is_gold=comparison.gold_answer is not None,
                gold_choice=comparison.gold_answer or "",
                prompt_text=prompt.text,
                text_a=comparison.text_a,
                text_b=comparison.text_b,
            )
        )
    return records
