"""The one door from the campaign apps to the reports: a campaign's ratings, verdicts and rater facts as
plain records, systems unblinded.

The only reports module that imports annotate or judging (an import-linter contract holds it); the
rest of reports reads campaigns through the names here, and filters in SQL, not in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery

from analysis.judge import JudgeInput, VerdictRecord, item_key
from analysis.quality_flags import FlagThresholds
from analysis.records import RatingRecord
from annotate.models import Campaign, Lease, Rating
from annotate.recruiting.links import external_ids
from annotate.selectors import (
    Exclusion,
    RosterEntry,
    campaign_cell_shares,
    campaign_exclusions,
    campaign_flag_thresholds,
    campaign_has_left_out_ratings,
    campaign_roster,
    campaign_skipped_unrated,
    campaign_stop_design,
    campaign_too_fast_counts,
    excluded_rater_ids,
)
from judging.selectors import (
    campaign_chosen_judge_run,
    campaign_report_judge_run,
    judge_run_verdict_rows,
    judgeable_comparisons,
)

# Rows read from the database at a time when records are streamed: a chunk of records, never the campaign.
STREAM_CHUNK = 2000

__all__ = [
    "Campaign",
    "Exclusion",
    "FlagThresholds",
    "RosterEntry",
    "campaign_by_name",
    "campaign_by_pk",
    "campaign_cell_shares",
    "campaign_exclusions",
    "campaign_flag_thresholds",
    "campaign_judge_input",
    "campaign_rater_names",
    "campaign_rating_record_stream",
    "campaign_rating_records",
    "campaign_roster",
    "campaign_stop_design",
    "campaign_too_fast_counts",
]


def campaign_by_pk(pk: int) -> Campaign | None:
    return Campaign.objects.select_related("eval_set").filter(pk=pk).first()


def campaign_by_name(name: str) -> Campaign | None:
    return Campaign.objects.filter(name=name).first()


def campaign_rater_names(*, campaign: Campaign) -> list[str]:
    """Who has a rating that the report counts (excluded raters left out), by username."""
    return list(
        Rating.objects.filter(campaign=campaign, comparison__system_a__isnull=False)
        .exclude(rater_id__in=excluded_rater_ids(campaign=campaign))
        .order_by("rater__username")
        .values_list("rater__username", flat=True)
        .distinct()
    )


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
    ratings = _rating_rows(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    crowd = external_ids(campaign=campaign)
    return [_rating_record(rating, campaign=campaign, crowd=crowd) for rating in ratings]


def campaign_rating_record_stream(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
    chunk_size: int = STREAM_CHUNK,
) -> Iterator[RatingRecord]:
    """`campaign_rating_records` one record at a time, read from the database `chunk_size` rows at a time,
    so a download of a million ratings holds one chunk, never the campaign.

    Inside a transaction: PostgreSQL's server-side cursor then hands rows over as it finds them, where
    one declared outside a transaction (WITH HOLD) is copied out whole before the first row.
    """
    ratings = _rating_rows(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    crowd = external_ids(campaign=campaign)
    with transaction.atomic():
        for rating in ratings.iterator(chunk_size=chunk_size):
            yield _rating_record(rating, campaign=campaign, crowd=crowd)


def _rating_rows(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str],
    exclude_gold: bool,
    include_excluded_raters: bool,
) -> QuerySet[Rating]:
    """The ratings the records are made of, filtered in SQL, oldest first."""
    ratings = (
        Rating.objects.filter(campaign=campaign, comparison__system_a__isnull=False)
        .select_related(
            "rater", "comparison__prompt", "comparison__system_a", "comparison__system_b", "comparison__texts"
        )
        .annotate(
            first_choice=Subquery(
                Lease.objects.filter(rater=OuterRef("rater"), comparison=OuterRef("comparison")).values(
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
    return ratings


def _rating_record(
    rating: Rating, *, campaign: Campaign, crowd: dict[int, tuple[str, str, str]]
) -> RatingRecord:
    comparison = rating.comparison
    prompt = comparison.prompt
    assert comparison.system_a is not None and comparison.system_b is not None
    return RatingRecord(
        campaign=campaign.name,
        prompt_id=prompt.uid,
        category=prompt.category,
        setting=prompt.setting,
        system_a=comparison.system_a.name,
        system_b=comparison.system_b.name,
        system_on_left=comparison.system_on_left,  # type: ignore[arg-type]
        # A gold check is scored on the rater's first answer: undo cannot re-answer it.
        choice=(
            rating.first_choice or rating.choice  # type: ignore[attr-defined,arg-type]
            if comparison.gold_answer is not None
            else rating.choice
        ),
        rater=rating.rater.username,
        seconds=float(rating.seconds),
        created=rating.created.isoformat(),
        comment=rating.comment,
        is_gold=comparison.gold_answer is not None,
        gold_choice=comparison.gold_answer or "",
        prompt_text=prompt.user_turns[comparison.turn - 1],
        text_a=comparison.texts.text_a,
        text_b=comparison.texts.text_b,
        turn=comparison.turn,
        earlier=tuple(
            zip(
                prompt.user_turns[: comparison.turn - 1],
                comparison.texts.history_a,
                comparison.texts.history_b,
                strict=True,
            )
        ),
        **dict(
            zip(
                ("external_id", "study_id", "session_id"),
                crowd.get(rating.rater_id, ("", "", "")),
                strict=True,
            )
        ),
    )


def _ppi_refusal(*, campaign: Campaign, covered: int, exclude_raters: Sequence[str]) -> str | None:
    """Why prediction-powered intervals may not use the judge here, or None.

    PPI needs the human-rated comparisons to be a uniformly random subset of the judged ones. The
    serving order makes them one: every comparison carries a random order key, each rater walks their
    own random permutation of the keys, so which comparisons get rated first does not depend on what
    they hold. What breaks it is refused, each with its reason: a judge run that does not cover every
    comparison, adaptive serving (stop when settled), ratings left out (excluded raters,
    --exclude-rater). Gold checks are refused in analysis.judge, from the records themselves.
    Comparisons skipped and rated by nobody are not refused but left out of the population
    (``_skipped_unrated``). Active labelling keeps the rated ones a known random subset: its stored
    probabilities weight them (analysis.judge).
    """
    total = judgeable_comparisons(campaign=campaign).count()
    if covered < total:
        return f"the judge run covers {covered} of {total} comparisons; PPI needs a verdict on every one"
    if campaign.stop_when_settled:
        return "adaptive serving (stop when settled) chooses what gets rated from the ratings so far"
    if campaign_has_left_out_ratings(campaign=campaign, usernames=exclude_raters):
        return (
            "ratings of excluded raters are left out, so the rated comparisons are no longer a random subset"
        )
    return None


def _skipped_unrated(*, campaign: Campaign) -> frozenset[tuple[str, tuple[str, ...]]]:
    """The (prompt id, sorted systems) of comparisons a rater skipped and nobody rated.

    Whether a rater skips depends on what a comparison holds, so such comparisons are no random part of
    the unrated ones: they leave PPI's population (the results browser lists them to ask again).
    """
    rows = campaign_skipped_unrated(campaign=campaign).values_list(
        "prompt__uid", "system_a__name", "system_b__name", "turn"
    )
    return frozenset(item_key(uid, a, b, turn) for uid, a, b, turn in rows if a and b)


def campaign_judge_input(*, campaign: Campaign, exclude_raters: Sequence[str] = ()) -> JudgeInput | None:
    """The campaign's judge run as the report's input (the chosen one, else the newest); None without one."""
    run = campaign_report_judge_run(campaign=campaign)
    if run is None:
        return None
    rows = judge_run_verdict_rows(run=run)
    verdicts = [
        VerdictRecord(
            prompt_id=r.prompt_id,
            category=r.category,
            setting=r.setting,
            system_a=r.system_a,
            system_b=r.system_b,
            p_a=r.p_a,
            p_tie=r.p_tie,
            p_b=r.p_b,
            consistent=r.consistent,
            is_gold=r.is_gold,
            label_probability=r.label_probability,
            label_drawn=r.label_drawn,
            turn=r.turn,
        )
        for r in rows
    ]
    refused = _ppi_refusal(campaign=campaign, covered=len(rows), exclude_raters=exclude_raters)
    excluded = _skipped_unrated(campaign=campaign)
    return JudgeInput(
        name=run.name,
        chosen=run == campaign_chosen_judge_run(campaign=campaign),
        verdicts=verdicts,
        ppi_refused=refused,
        excluded=excluded,
        excluded_reason=(
            f"{len(excluded)} comparison(s) skipped and rated by nobody are left out: whether a rater skips "
            "depends on what a comparison holds; the rate is that of the others (results browser: "
            "skipped, rated by nobody)"
            if excluded
            else ""
        ),
    )
