"""Reads for the results browser: comparisons with their vote counts, majority and disagreement.

Counts are correlated subqueries rather than a JOIN with GROUP BY: SQLite would group by every
selected column (the long answer texts among them), and Paginator's COUNT drops subquery
annotations no filter refers to, so an unfiltered page costs no counting at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from annotate.models import Campaign, Comparison, Rating
from annotate.selectors import excluded_rater_ids
from eval_sets.models import Prompt

# The `majority` annotation: one of CHOICES, NO_MAJORITY (a draw between the top choices) or NO_VOTES.
NO_MAJORITY = "none"
NO_VOTES = "unrated"


def _counted(excluded: list[int]) -> QuerySet[Rating]:
    # The votes that count: not by an excluded rater.
    return Rating.objects.filter(comparison=OuterRef("pk")).exclude(rater_id__in=excluded).order_by()


def _count(excluded: list[int], aggregate: Count) -> Coalesce:
    counted = _counted(excluded).values("comparison").annotate(n=aggregate).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _ranked(excluded: list[int], rank: int, column: str) -> Subquery:
    """`column` ("choice" or its count "n") of the rank-th most frequent choice (0 the top), ties by name."""
    by_choice = _counted(excluded).values("choice").annotate(n=Count("pk")).order_by("-n", "choice")
    output = CharField() if column == "choice" else IntegerField()
    return Subquery(by_choice.values(column)[rank : rank + 1], output_field=output)


def result_rows(*, campaign: Campaign, excluded: list[int] | None = None) -> QuerySet[Comparison]:
    """The campaign's comparisons with `n_counted`, `n_choices`, `majority`, `disagreed`, `has_comment`.

    The counts leave out excluded raters' votes. `majority` is the one rule for a comparison's
    outcome: the choice with strictly more votes than any other (a/b name the pair's systems A and B),
    NO_MAJORITY when the top two draw, NO_VOTES without votes. `disagreed`: at least two different
    choices. Votes (all raters, in order) are prefetched as `votes`.
    """
    if excluded is None:
        excluded = excluded_rater_ids(campaign=campaign)
    votes = Rating.objects.select_related("rater").only(
        "comparison_id", "rater__username", "choice", "side", "seconds", "comment", "created", "too_fast"
    )
    return (
        Comparison.objects.filter(campaign=campaign)
        .select_related("prompt", "system_a", "system_b")
        .annotate(
            n_counted=_count(excluded, Count("pk")),
            n_choices=_count(excluded, Count("choice", distinct=True)),
            top_choice=_ranked(excluded, 0, "choice"),
            top_n=Coalesce(_ranked(excluded, 0, "n"), 0),
            second_n=Coalesce(_ranked(excluded, 1, "n"), 0),
        )
        .annotate(
            majority=Case(
                When(top_n=0, then=Value(NO_VOTES)),
                When(top_n__gt=F("second_n"), then=F("top_choice")),
                default=Value(NO_MAJORITY),
                output_field=CharField(),
            ),
            disagreed=Case(When(n_choices__gt=1, then=Value(True)), default=Value(False)),
            has_comment=Exists(Rating.objects.filter(comparison=OuterRef("pk")).exclude(comment="")),
        )
        .prefetch_related(Prefetch("ratings", queryset=votes, to_attr="votes"))
        .order_by("pk")
    )


# The set's categories in order, one index probe each (an index on (eval_set_id, category), annotate
# migration 0016): a DISTINCT over the prompts reads every prompt of the set, a million for the largest.
_CATEGORIES_SQL = """
WITH RECURSIVE found(category) AS (
    SELECT MIN(category) FROM {table} WHERE eval_set_id = %s
    UNION ALL
    SELECT (SELECT MIN(p.category) FROM {table} p WHERE p.eval_set_id = %s AND p.category > found.category)
    FROM found WHERE found.category IS NOT NULL
)
SELECT category FROM found WHERE category IS NOT NULL
"""


def campaign_categories(*, campaign: Campaign) -> list[str]:
    """The distinct categories of the campaign's eval set, sorted."""
    with connection.cursor() as cursor:
        cursor.execute(_CATEGORIES_SQL.format(table=Prompt._meta.db_table), [campaign.eval_set_id] * 2)
        return [category for (category,) in cursor.fetchall()]


def campaign_voters(*, campaign: Campaign) -> list[tuple[int, str]]:
    """(id, username) of everyone who rated in the campaign, for the rater filter."""
    # A probe of the (campaign, rater) index per user, not a DISTINCT over every rating of the campaign.
    rated = Exists(Rating.objects.filter(campaign=campaign, rater_id=OuterRef("pk")))
    return list(User.objects.filter(rated).order_by("username").values_list("pk", "username"))


@dataclass(frozen=True)
class Vote:
    rater: str
    side: str
    choice: str  # the system's name, or "tie" / "both bad"
    seconds: float
    comment: str
    created: object
    too_fast: bool
    excluded: bool


def system_label(comparison: Comparison, letter: str) -> str:
    system = comparison.system_a if letter == "a" else comparison.system_b
    return system.name if system is not None else f"text {letter.upper()} (uploaded)"


def choice_label(comparison: Comparison, choice: str) -> str:
    if choice in ("a", "b"):
        return system_label(comparison, choice)
    return {"tie": "tie", "both_bad": "both bad", NO_MAJORITY: "no majority", NO_VOTES: "no votes"}.get(
        choice, choice
    )


def comparison_votes(comparison: Comparison, *, excluded: list[int]) -> list[Vote]:
    """The prefetched votes of a `result_rows` row, labelled for a researcher."""
    return [
        Vote(
            rater=r.rater.username,
            side=r.get_side_display(),
            choice=choice_label(comparison, r.choice),
            seconds=r.seconds,
            comment=r.comment,
            created=r.created,
            too_fast=r.too_fast,
            excluded=r.rater_id in excluded,
        )
        for r in comparison.votes  # type: ignore[attr-defined]
    ]
