"""The one door from the campaign apps to the reports: a campaign's ratings, verdicts and rater facts as
plain records, systems unblinded.

The only reports module that imports annotate or judging (an import-linter contract holds it); the
rest of reports reads campaigns through the names here, and filters in SQL, not in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery

from analysis.judge import JudgeInput, VerdictRecord, item_key
from analysis.quality_flags import FlagThresholds
from analysis.records import RatingRecord
from annotate.models import Campaign, Lease, Rating
from annotate.rating_rows import (
    campaign_counted_ratings,
    campaign_gold_first_choices,
    campaign_rating_arrays,
    campaign_rating_names,
    campaign_rating_rows,
)
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
    "campaign_gold_first_choices",
    "campaign_judge_input",
    "campaign_rater_names",
    "campaign_rating_arrays",
    "campaign_rating_names",
    "campaign_rating_record_stream",
    "campaign_rating_records",
    "campaign_report_records",
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
    rows = _rating_rows(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    crowd = external_ids(campaign=campaign)
    return [_rating_record(row, campaign=campaign, crowd=crowd) for row in rows]


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
    rows = _rating_rows(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    crowd = external_ids(campaign=campaign)
    with transaction.atomic():
        for row in rows.iterator(chunk_size=chunk_size):
            yield _rating_record(row, campaign=campaign, crowd=crowd)


# What a record is made of, read as plain values (a row of tuples, not seven model instances per rating).
_ROW_FIELDS = (
    "rater_id",
    "rater__username",
    "choice",
    "first_choice",
    "seconds",
    "created",
    "comment",
    "comparison__prompt__uid",
    "comparison__prompt__category",
    "comparison__prompt__setting",
    "comparison__prompt__text",
    "comparison__prompt__turns",
    "comparison__system_a__name",
    "comparison__system_b__name",
    "comparison__system_on_left",
    "comparison__gold_answer",
    "comparison__turn",
    "comparison__texts__text_a",
    "comparison__texts__text_b",
    "comparison__texts__history_a",
    "comparison__texts__history_b",
)


def _rating_rows(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str],
    exclude_gold: bool,
    include_excluded_raters: bool,
) -> QuerySet[Rating, tuple[Any, ...]]:
    """The ratings the records are made of (`_ROW_FIELDS`), filtered in SQL, oldest first."""
    ratings = campaign_counted_ratings(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    ).annotate(
        first_choice=Subquery(
            Lease.objects.filter(rater=OuterRef("rater"), comparison=OuterRef("comparison")).values(
                "first_choice"
            )[:1]
        )
    )
    return ratings.order_by("created", "pk").values_list(*_ROW_FIELDS)


def _rating_record(
    row: tuple[Any, ...], *, campaign: Campaign, crowd: dict[int, tuple[str, str, str]]
) -> RatingRecord:
    (
        rater_id, username, choice, first_choice, seconds, created, comment,
        uid, category, setting, text, turns, system_a, system_b, system_on_left, gold_answer, turn,
        text_a, text_b, history_a, history_b,
    ) = row  # fmt: skip
    user_turns = list(turns) if turns else [text]  # Prompt.user_turns
    external_id, study_id, session_id = crowd.get(rater_id, ("", "", ""))
    return RatingRecord(
        campaign=campaign.name,
        prompt_id=uid,
        category=category,
        setting=setting,
        system_a=system_a,
        system_b=system_b,
        system_on_left=system_on_left,
        # A gold check is scored on the rater's first answer: undo cannot re-answer it.
        choice=(first_choice or choice) if gold_answer is not None else choice,
        rater=username,
        seconds=float(seconds),
        created=created.isoformat(),
        comment=comment,
        is_gold=gold_answer is not None,
        gold_choice=gold_answer or "",
        prompt_text=user_turns[turn - 1],
        text_a=text_a,
        text_b=text_b,
        turn=turn,
        earlier=tuple(zip(user_turns[: turn - 1], history_a or (), history_b or (), strict=True)),
        external_id=external_id,
        study_id=study_id,
        session_id=session_id,
    )


def campaign_report_records(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> list[RatingRecord]:
    """The records of ``campaign_rating_records`` as a report needs them: no texts (``prompt_text``,
    ``text_a``, ``text_b`` are None, ``earlier`` empty) but each answer's stored style counts.

    The report of these is the report of the full records. The report itself now reads the same ratings
    as columns (reports.rating_columns.campaign_report_columns, which a test holds equal to these); these
    records remain for callers that want records. Streamed in chunks; the names repeated on every row
    (prompts, categories, systems, raters) are kept once each.
    """
    crowd = external_ids(campaign=campaign)
    first_choices = campaign_gold_first_choices(campaign=campaign)
    names = campaign_rating_names(campaign=campaign)
    prompts, systems, raters = names.prompts, names.systems, names.raters
    choices = {choice: choice for choice in ("a", "b", "tie", "both_bad")}  # one string each, not one a row
    records = []
    rows = campaign_rating_rows(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    for row in rows:
        prompt, system_a, system_b, left, choice, rater_id, seconds, created, comment, gold, turn, pk = row[
            :12
        ]
        uid, category, setting = prompts[prompt]
        external = crowd.get(rater_id, ("", "", ""))
        records.append(
            RatingRecord(
                campaign=campaign.name,
                prompt_id=uid,
                category=category,
                setting=setting,
                system_a=systems[system_a],
                system_b=systems[system_b],
                system_on_left=left,
                # A gold check is scored on the rater's first answer: undo cannot re-answer it.
                choice=first_choices.get((rater_id, pk), choice) if gold is not None else choices[choice],  # type: ignore[arg-type]
                rater=raters[rater_id],
                seconds=float(seconds),
                created=created,
                comment=comment,
                is_gold=gold is not None,
                gold_choice=gold or "",
                turn=turn,
                external_id=external[0],
                study_id=external[1],
                session_id=external[2],
                style_a=row[12:16] if row[12] is not None else None,
                style_b=row[16:20] if row[16] is not None else None,
            )
        )
    return records


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
