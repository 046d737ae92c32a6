"""The one door from the campaign apps to the reports: a campaign's ratings, verdicts and rater facts as
plain records, systems unblinded.

The only reports module that imports annotate or judging (an import-linter contract holds it); the
rest of reports reads campaigns through the names here, and filters in SQL, not in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import OuterRef, Subquery

from analysis.judge import JudgeInput, VerdictRecord, item_key
from analysis.quality_flags import FlagThresholds
from analysis.records import RatingRecord
from annotate.models import Campaign, Lease, Rating
from annotate.rating_rows import campaign_gold_first_choices, campaign_rating_names, campaign_rating_rows
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
                system_on_left=comparison.system_on_left,  # type: ignore[arg-type]
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
                external_id=crowd.get(rating.rater_id, ("", "", ""))[0],
                study_id=crowd.get(rating.rater_id, ("", "", ""))[1],
                session_id=crowd.get(rating.rater_id, ("", "", ""))[2],
            )
        )
    return records


def campaign_report_records(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> list[RatingRecord]:
    """The records of ``campaign_rating_records`` as a report needs them: no texts (``prompt_text``,
    ``text_a``, ``text_b`` are None, ``earlier`` empty) but each answer's stored style counts.

    What the report page, the JSON and HTML reports and the campaign page read: the report of these is
    the report of the full records. Streamed in chunks; the names repeated on every row (prompts,
    categories, systems, raters) are kept once each.
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
