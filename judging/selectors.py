"""Reads for judge runs: the comparisons a run judges, its status, a campaign's verdicts as plain rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from annotate.models import Campaign, Comparison
from core.jobs import job_status_payload
from core.models import JobStatus
from judging.errors import JudgingError
from judging.models import JudgeChoice, JudgeRun, Verdict


def judgeable_comparisons(*, campaign: Campaign) -> QuerySet[Comparison]:
    """Every comparison of two systems (uploaded gold pairs name none), in primary-key order."""
    return (
        Comparison.objects.filter(campaign=campaign, system_a__isnull=False, system_b__isnull=False)
        .select_related("prompt", "system_a", "system_b", "texts")
        .order_by("pk")
    )


def campaign_resolve(*, campaign: Campaign | str) -> Campaign:
    if isinstance(campaign, Campaign):
        return campaign
    found = Campaign.objects.filter(name=campaign).first()
    if found is None:
        raise JudgingError(f"no campaign named {campaign!r}")
    return found


def judge_run_status(*, run: JudgeRun) -> dict[str, Any]:
    """The JSON the progress bar polls (the generation jobs' keys, so one script serves both)."""
    return job_status_payload(job=run, done=run.items_done, total=run.items_total, tokens_per_second=None)


def campaign_judge_runs(*, campaign: Campaign) -> QuerySet[JudgeRun]:
    return JudgeRun.objects.filter(campaign=campaign).select_related("judge").order_by("-created")


def campaign_latest_judge_run(*, campaign: Campaign) -> JudgeRun | None:
    """The newest finished run."""
    return campaign_judge_runs(campaign=campaign).filter(status=JobStatus.DONE).first()


def campaign_chosen_judge_run(*, campaign: Campaign) -> JudgeRun | None:
    """The run a researcher chose for the report, while it is finished; None if none is chosen."""
    choice = (
        JudgeChoice.objects.filter(campaign=campaign, run__status=JobStatus.DONE)
        .select_related("run")
        .first()
    )
    return None if choice is None else choice.run


def campaign_report_judge_run(*, campaign: Campaign) -> JudgeRun | None:
    """The run the report uses: the chosen one, else the newest finished one."""
    return campaign_chosen_judge_run(campaign=campaign) or campaign_latest_judge_run(campaign=campaign)


def campaign_active_drawn_count(*, campaign: Campaign) -> int | None:
    """How many comparisons active labelling drew for a human; None where it is off."""
    active = Comparison.objects.filter(campaign=campaign, label_probability__isnull=False)
    if not active.exists():
        return None
    return active.filter(label_rank=0).count()


@dataclass(frozen=True)
class VerdictRow:
    comparison_id: int
    prompt_id: str
    category: str
    setting: str
    system_a: str
    system_b: str
    is_gold: bool
    p_a: float
    p_tie: float
    p_b: float
    consistent: bool | None
    label_probability: float | None = None
    label_drawn: bool | None = None
    turn: int = 1


def judge_run_verdict_rows(*, run: JudgeRun) -> list[VerdictRow]:
    verdicts = Verdict.objects.filter(run=run).select_related(
        "comparison__prompt", "comparison__system_a", "comparison__system_b"
    )
    rows = []
    for v in verdicts.order_by("comparison_id"):
        c = v.comparison
        assert c.system_a is not None and c.system_b is not None
        rows.append(
            VerdictRow(
                comparison_id=c.pk,
                prompt_id=c.prompt.uid,
                category=c.prompt.category,
                setting=c.prompt.setting,
                system_a=c.system_a.name,
                system_b=c.system_b.name,
                is_gold=c.gold_answer is not None,
                p_a=v.p_a,
                p_tie=v.p_tie,
                p_b=v.p_b,
                consistent=v.consistent,
                label_probability=c.label_probability,
                label_drawn=None if c.label_probability is None else c.label_rank == 0,
                turn=c.turn,
            )
        )
    return rows
