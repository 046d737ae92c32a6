"""A campaign's judge run for the report and the campaign page, and whether PPI may use it.

PPI needs the human-rated comparisons to be a uniformly random subset of the judged ones. The
serving order makes them one: every comparison carries a random order key, each rater walks their
own random permutation of the keys, so which comparisons get rated first does not depend on what
they hold. Things that break it are refused here, each with its reason: a judge run that does not
cover every comparison, ratings left out (excluded raters, --exclude-rater), comparisons skipped by
raters and rated by nobody (which got rated then depended on their content), adaptive serving
(stop-when-settled campaigns serve the unsettled cells first). Gold checks are refused in
reports.judge, from the records themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotate.models import Assignment, Campaign, Rating
from annotate.selectors import excluded_rater_ids
from judging.selectors import campaign_latest_judge_run, judge_run_verdict_rows, judgeable_comparisons
from reports.judge import JudgeInput, VerdictRecord


def _refusal(*, campaign: Campaign, covered: int, exclude_raters: Sequence[str]) -> str | None:
    total = judgeable_comparisons(campaign=campaign).count()
    if covered < total:
        return f"the judge run covers {covered} of {total} comparisons; PPI needs a verdict on every one"
    if getattr(campaign, "stop_when_settled", False):
        return "adaptive serving (stop when settled) chooses what gets rated from the ratings so far"
    left_out = Rating.objects.filter(campaign=campaign, rater_id__in=excluded_rater_ids(campaign=campaign))
    if [name for name in exclude_raters if name]:
        left_out = left_out | Rating.objects.filter(campaign=campaign, rater__username__in=exclude_raters)
    if left_out.exists():
        return (
            "ratings of excluded raters are left out, so the rated comparisons are no longer a random subset"
        )
    skipped_unrated = (
        Assignment.objects.filter(campaign=campaign, skipped=True)
        .exclude(comparison__ratings__isnull=False)
        .values("comparison")
        .distinct()
        .count()
    )
    if skipped_unrated:
        return (
            f"raters skipped {skipped_unrated} comparison(s) that nobody rated: which comparisons got rated "
            "depended on what they hold"
        )
    return None


def campaign_judge_input(*, campaign: Campaign, exclude_raters: Sequence[str] = ()) -> JudgeInput | None:
    """The newest finished judge run of the campaign as the report's input; None without one."""
    run = campaign_latest_judge_run(campaign=campaign)
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
        )
        for r in rows
    ]
    refused = _refusal(campaign=campaign, covered=len(rows), exclude_raters=exclude_raters)
    return JudgeInput(name=run.name, verdicts=verdicts, ppi_refused=refused)


def campaign_judge_summary(*, campaign: Campaign) -> dict[str, Any] | None:
    """What the campaign page shows: the report's own judge block and overall PPI, or None without a run."""
    from reports.build import report_build
    from reports.campaign_records import campaign_rating_records

    judge = campaign_judge_input(campaign=campaign)
    if judge is None:
        return None
    records = campaign_rating_records(campaign=campaign, exclude_gold=True)
    systems = campaign.system_names()
    if not records or len(systems) < 2:
        return {"judge": {"name": judge.name, "items": len(judge.verdicts)}, "overall": None}
    report = report_build(records=records, system_order=systems, judge=judge, rounds=200)
    return {
        "judge": report["judge"],
        "overall": report["overall"],
        "baseline": report["baseline"],
        "candidate": report["candidate"],
    }
