"""Reads of what raters wrote: a campaign's latest comments, for the researchers' campaign page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from annotate.models import Campaign, Rating
from annotate.selectors import excluded_rater_ids

# The campaign page shows this many; the results browser has them all.
LATEST_COMMENTS = 50


@dataclass(frozen=True)
class CommentRow:
    rater: str
    comment: str  # untrusted text: templates escape it
    seconds: float
    prompt_id: str
    category: str
    setting: str
    choice: str  # the chosen system's name, or "tie" / "both bad"
    side: str  # what the rater clicked
    created: datetime
    excluded: bool


def campaign_latest_comments(*, campaign: Campaign, limit: int = LATEST_COMMENTS) -> list[CommentRow]:
    """The campaign's latest ratings that carry a comment, newest first, at most ``limit`` (one query)."""
    excluded = set(excluded_rater_ids(campaign=campaign))
    ratings = (
        Rating.objects.filter(campaign=campaign)
        .exclude(comment="")
        .select_related("rater", "comparison__prompt", "comparison__system_a", "comparison__system_b")
        .only(
            "comment",
            "seconds",
            "choice",
            "side",
            "created",
            "rater__username",
            "comparison__prompt__uid",
            "comparison__prompt__category",
            "comparison__prompt__setting",
            "comparison__system_a__name",
            "comparison__system_b__name",
        )
        .order_by("-created", "-pk")[:limit]
    )
    rows = []
    for rating in ratings:
        comparison = rating.comparison
        systems = {
            "a": comparison.system_a.name if comparison.system_a else "A",
            "b": comparison.system_b.name if comparison.system_b else "B",
        }
        rows.append(
            CommentRow(
                rater=rating.rater.username,
                comment=rating.comment,
                seconds=float(rating.seconds),
                prompt_id=comparison.prompt.uid,
                category=comparison.prompt.category,
                setting=comparison.prompt.setting,
                choice=systems.get(rating.choice, rating.get_choice_display().lower()),
                side=rating.get_side_display().lower(),
                created=rating.created,
                excluded=rating.rater_id in excluded,
            )
        )
    return rows
