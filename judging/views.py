"""Researcher pages: start a judge run over a campaign, follow its progress, import verdicts made elsewhere."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotate.models import Campaign
from core.job_views import JobActions
from core.roles import researcher_required
from eval_sets.importers import EvalSetImportError
from eval_sets.services import eval_set_check_size
from generation.models import ModelSpec
from judging.active import campaign_active_labelling_start, campaign_judge_choose
from judging.errors import JudgingError
from judging.imports import FORMATS, judgments_import
from judging.models import JudgeRun, Verdict
from judging.selectors import (
    campaign_active_drawn_count,
    campaign_chosen_judge_run,
    campaign_judge_runs,
    campaign_report_judge_run,
    judge_run_status,
)
from judging.services import judge_run_cancel, judge_run_create, judge_run_retry

MAX_SHOWN_VERDICTS = 200

# The status JSON, cancel and retry routes of a run (core's job kit; judging/urls.py routes them).
RUN_ACTIONS = JobActions(
    model=JudgeRun,
    noun="judge run",
    kept="stored verdicts",
    status=lambda job: judge_run_status(run=job),
    cancel=lambda job: judge_run_cancel(run=job),
    retry=lambda job: judge_run_retry(run=job),
)


@researcher_required
@require_http_methods(["GET", "POST"])
def campaign_judging(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("choose", "active"):
                _choose_or_draw(request, campaign, action)
                return redirect("judging:campaign", pk=campaign.pk)
            if action == "import":
                run = _import_upload(request, campaign)
                messages.success(request, f"Imported {run.items_done} verdicts as judge run {run.pk}.")
            else:
                run = judge_run_create(
                    campaign=campaign,
                    model=request.POST.get("model", ""),
                    created_by=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, f"Judge run {run.pk} queued.")
        except JudgingError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("judging:run_detail", pk=run.pk)
    report_run = campaign_report_judge_run(campaign=campaign)
    context = {
        "campaign": campaign,
        "report_run": report_run,
        "chosen": report_run is not None and report_run == campaign_chosen_judge_run(campaign=campaign),
        "active_drawn": campaign_active_drawn_count(campaign=campaign),
        "runs": campaign_judge_runs(campaign=campaign),
        "models": ModelSpec.objects.exclude(source=ModelSpec.Source.EXTERNAL).order_by("name"),
        "formats": FORMATS,
    }
    return render(request, "judging/campaign.html", context)


def _choose_or_draw(request: HttpRequest, campaign: Campaign, action: str) -> None:
    """The report's judge run (``choose``; an empty choice goes back to the newest), or active labelling."""
    raw = request.POST.get("run", "")
    run = JudgeRun.objects.filter(campaign=campaign, pk=int(raw)).first() if raw.isdigit() else None
    if action == "choose":
        if raw and run is None:
            raise JudgingError("choose one of this campaign's judge runs")
        campaign_judge_choose(campaign=campaign, run=run)
        what = f"judge run {run.pk}" if run else "the newest finished run"
        messages.success(request, f"The report uses {what}.")
        return
    if run is None:
        raise JudgingError("choose the judge run whose doubt decides what humans rate")
    budget = request.POST.get("budget", "")
    if not budget.isdigit():
        raise JudgingError("give the number of comparisons humans should rate, as a whole number")
    drawn = campaign_active_labelling_start(campaign=campaign, run=run, budget=int(budget))
    messages.success(request, f"Active labelling: {drawn} comparisons drawn; raters get them first.")


def _import_upload(request: HttpRequest, campaign: Campaign) -> JudgeRun:
    upload = request.FILES.get("file")
    if upload is None:
        raise JudgingError("choose a file to import")
    try:
        eval_set_check_size(size=upload.size or 0, filename=upload.name or "upload")  # before reading it
    except EvalSetImportError as exc:
        raise JudgingError(str(exc)) from None
    upload.seek(0)
    # Streamed from the upload itself, named by the name it was uploaded under (never a temporary path).
    return judgments_import(
        campaign=campaign,
        stream=upload.file,
        filename=upload.name or "upload",
        fmt=request.POST.get("format", "auto"),
        name=request.POST.get("name") or None,
    )


@researcher_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(JudgeRun.objects.select_related("campaign", "judge"), pk=pk)
    verdicts = Verdict.objects.filter(run=run).select_related(
        "comparison__prompt", "comparison__system_a", "comparison__system_b"
    )
    counted = verdicts.exclude(consistent__isnull=True)
    consistent = counted.filter(consistent=True).count()
    context = {
        "run": run,
        "verdicts": verdicts[:MAX_SHOWN_VERDICTS],
        "verdict_count": verdicts.count(),
        "shown_limit": MAX_SHOWN_VERDICTS,
        "consistency": consistent / counted.count() if counted.exists() else None,
    }
    return render(request, "judging/run_detail.html", context)
