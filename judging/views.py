"""Researcher pages: start a judge run over a campaign, follow its progress, import verdicts made elsewhere."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.models import Campaign
from core.roles import researcher_required
from eval_sets.importers import EvalSetImportError
from eval_sets.services import eval_set_check_size
from generation.models import ModelSpec
from judging.errors import JudgingError
from judging.imports import FORMATS, judgments_import
from judging.models import JudgeRun, Verdict
from judging.selectors import campaign_judge_runs, judge_run_status
from judging.services import judge_run_cancel, judge_run_create, judge_run_retry

MAX_SHOWN_VERDICTS = 200


@researcher_required
@require_http_methods(["GET", "POST"])
def campaign_judging(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "import":
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
    context = {
        "campaign": campaign,
        "runs": campaign_judge_runs(campaign=campaign),
        "models": ModelSpec.objects.exclude(source=ModelSpec.Source.EXTERNAL).order_by("name"),
        "formats": FORMATS,
    }
    return render(request, "judging/campaign.html", context)


def _import_upload(request: HttpRequest, campaign: Campaign) -> JudgeRun:
    upload = request.FILES.get("file")
    if upload is None:
        raise JudgingError("choose a file to import")
    try:
        eval_set_check_size(size=upload.size or 0, filename=upload.name or "upload")  # before reading it
    except EvalSetImportError as exc:
        raise JudgingError(str(exc)) from None
    suffix = Path(upload.name or "verdicts.jsonl").suffix[:10]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{Path(upload.name or 'verdicts').stem[:80]}{suffix}"
        with path.open("wb") as out:
            for part in upload.chunks():
                out.write(part)
        return judgments_import(
            campaign=campaign,
            path=path,
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


@researcher_required
@require_GET
def run_status(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(judge_run_status(run=get_object_or_404(JudgeRun, pk=pk)))


@researcher_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = judge_run_cancel(run=get_object_or_404(JudgeRun, pk=pk))
    messages.success(request, f"Cancellation of judge run {run.pk} requested.")
    return redirect("judging:run_detail", pk=run.pk)


@researcher_required
@require_POST
def run_retry(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(JudgeRun, pk=pk)
    try:
        judge_run_retry(run=run)
    except JudgingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Judge run {run.pk} queued again; stored verdicts are kept.")
    return redirect("judging:run_detail", pk=run.pk)
