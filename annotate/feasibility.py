"""Can the campaign's raters give every rating it needs? Checked when it is built or its raters
change (a warning with numbers), and watched while it runs (the "stalled" state).

A comparison needing k ratings needs k different raters (nobody rates an item twice), and a rater
with a quota gives at most that many regular ratings. `feasibility_problems` is the pure rule;
`campaign_feasibility` and `campaign_stall` read the campaign.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q

from annotate.models import Campaign, Rating
from annotate.selectors import excluded_rater_ids


def feasibility_problems(
    *, needed: Sequence[int], raters: int, quota: int | None, per_item: int | None = None
) -> list[str]:
    """Why `raters` raters (each with `quota` regular items at most) cannot give `needed` ratings.

    With `per_item` (the campaign's ratings per comparison) a shortfall on items needing more than
    that is put down to the overlap, whose items need 3 different raters: the fix is then more raters
    or a lower overlap, not a lower number of ratings per comparison.
    """
    problems = []
    short = [k for k in needed if k > raters]
    if short:
        missing = sum(k - raters for k in short)
        if per_item is not None and all(k > per_item for k in short):
            remedy = (
                f"these are the overlap comparisons, each rated by {max(short)} different raters to measure "
                f"agreement: add raters to the pool ({max(short)} or more) or lower the overlap (0 turns it off)"
            )
        else:
            remedy = "add raters or lower the overlap / ratings per comparison"
        problems.append(
            f"{len(short)} comparison(s) need up to {max(short)} raters each but the pool has {raters}: "
            f"{missing} rating(s) can never be given ({remedy})"
        )
    total = sum(needed)
    if quota is not None and quota * raters < total:
        problems.append(
            f"{total} ratings are needed but {raters} rater(s) x quota {quota} = {quota * raters} "
            f"(add raters or raise the quota)"
        )
    return problems


def _active_raters(campaign: Campaign) -> list[int]:
    excluded = set(excluded_rater_ids(campaign=campaign))
    return [pk for pk in campaign.raters.values_list("pk", flat=True) if pk not in excluded]


def campaign_feasibility(*, campaign: Campaign) -> list[str]:
    """The problems of the campaign as it stands (its pool less excluded raters); empty when none."""
    needed = list(campaign.comparisons.filter(gold_answer__isnull=True).values_list("needed", flat=True))
    if not needed:
        return []
    return feasibility_problems(
        needed=needed,
        raters=len(_active_raters(campaign)),
        quota=campaign.quota_per_rater,
        per_item=campaign.ratings_per_comparison,
    )


@dataclass(frozen=True)
class Stall:
    """Ratings still needed that no rater of the pool can give: none has room and has not rated them.

    `ratings` and `comparisons` count what the pool's raters used up (they rated the item or their
    quota); `short` counts the ratings that a pool this small could never give (an item needing more
    different raters than the pool has, as an overlap item with a one- or two-rater pool), which is a
    feasibility problem from the start, not a stall, and is reported as one.
    """

    ratings: int
    comparisons: int
    short: int = 0

    @property
    def stalled(self) -> bool:
        return self.ratings > 0


def campaign_stall(*, campaign: Campaign) -> Stall:
    """How many needed ratings are out of every active rater's reach (own rating done, quota used)."""
    active = set(_active_raters(campaign))
    excluded = set(excluded_rater_ids(campaign=campaign))
    regular = campaign.comparisons.filter(gold_answer__isnull=True)
    # Items nobody rated are alike but for `needed`: counted by it in the database, not one by one
    # (a million-comparison campaign's page waited seconds on a loop over every item).
    unrated: Counter[int] = Counter(dict(regular.order_by().values_list("needed").annotate(n=Count("*"))))
    needed_of: dict[int, int] = {}
    raters_of: dict[int, set[int]] = defaultdict(set)
    counted: Counter[int] = Counter()
    done_by: Counter[int] = Counter()
    # A join, not the ids as parameters: a large campaign has more regular items than a statement
    # takes parameters (65,535 on PostgreSQL).
    for comparison_id, rater_id, need in Rating.objects.filter(
        campaign=campaign, comparison__gold_answer__isnull=True
    ).values_list("comparison_id", "rater_id", "comparison__needed"):
        if comparison_id not in needed_of:
            needed_of[comparison_id] = need
            unrated[need] -= 1
        raters_of[comparison_id].add(rater_id)
        done_by[rater_id] += 1
        if rater_id not in excluded:
            counted[comparison_id] += 1
    quota = campaign.quota_per_rater
    able = {r for r in active if quota is None or done_by[r] < quota}
    ratings = comparisons = short = 0
    items = [(need, counted[pk], len(able - raters_of[pk]), 1) for pk, need in needed_of.items()]
    items += [(need, 0, len(able), n) for need, n in unrated.items() if n > 0]
    for need, done, reachable, n in items:
        missing = need - done
        if missing <= 0:
            continue
        if missing > reachable:
            never = min(missing - reachable, max(0, need - len(active)))
            short += never * n
            if missing - reachable > never:
                ratings += (missing - reachable - never) * n
                comparisons += n
    return Stall(ratings=ratings, comparisons=comparisons, short=short)


@dataclass(frozen=True)
class ServingState:
    """What the campaign page shows about serving: a stall, feasibility problems, too-fast ratings."""

    stall: Stall
    problems: list[str]
    min_seconds: float
    # (username, ratings under the minimum reading time, all ratings), raters with any such rating.
    too_fast: list[tuple[str, int, int]]


def campaign_serving_state(*, campaign: Campaign) -> ServingState:
    rows = (
        Rating.objects.filter(campaign=campaign)
        .values("rater__username")
        .annotate(fast=Count("pk", filter=Q(too_fast=True)), total=Count("pk"))
        .filter(fast__gt=0)
        .order_by("-fast", "rater__username")
    )
    return ServingState(
        stall=campaign_stall(campaign=campaign) if campaign.status == Campaign.Status.OPEN else Stall(0, 0),
        problems=campaign_feasibility(campaign=campaign),
        min_seconds=campaign.min_seconds,
        too_fast=[(r["rater__username"], r["fast"], r["total"]) for r in rows],
    )
