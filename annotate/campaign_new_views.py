"""The researcher's new-campaign form, and the build job's routes (issue 31).

A small campaign is built in the request, as before; one above annotate.build_jobs.BUILD_IN_REQUEST_MAX
comparisons is put in the building state and built by a job, whose progress the campaign page shows
(templates/hub/campaign_building.html). The job's status JSON, cancel and retry are core's job views.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotate import build_jobs, services
from annotate.build_jobs import (
    campaign_build_cancel,
    campaign_build_estimate,
    campaign_build_retry,
    campaign_build_start,
    campaign_build_status,
)
from annotate.build_models import CampaignBuild
from annotate.feasibility import campaign_feasibility
from annotate.forms import CampaignForm
from annotate.models import DEFAULT_MIN_SECONDS, Campaign
from core.job_views import JobActions
from core.roles import researcher_required
from generation.answered import coverage_table

BUILD_ACTIONS = JobActions(
    model=CampaignBuild,
    noun=CampaignBuild.noun,
    kept=CampaignBuild.retry_keeps,
    status=campaign_build_status,
    cancel=campaign_build_cancel,
    retry=campaign_build_retry,
)


def warn_infeasible(request: HttpRequest, campaign: Campaign) -> None:
    for problem in campaign_feasibility(campaign=campaign):
        messages.warning(request, f"This campaign cannot be finished as it stands: {problem}.")


@researcher_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # a refused build leaves no campaign behind
                campaign, queued = _campaign_create_from_form(request, data, form)
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            if queued is not None:
                messages.success(
                    request,
                    f"Campaign {campaign.name} is being built, about {queued:,} comparisons:"
                    " its page shows the progress.",
                )
                return redirect("hub:campaign_detail", pk=campaign.pk)
            opened = " and opened to raters" if data["open_now"] else ""
            messages.success(
                request,
                f"Campaign {campaign.name} built with {campaign.comparisons.count()} comparisons{opened}.",
            )
            if form.coverage is not None and not form.coverage.complete:
                messages.info(request, f"Built over the answered prompts only: {form.coverage.describe()}.")
            warn_infeasible(request, campaign)
            return redirect("hub:campaign_detail", pk=campaign.pk)
    context = {"form": form, "coverage_rows": coverage_table()}
    return render(request, "annotate/campaign_form.html", context)


def _campaign_create_from_form(
    request: HttpRequest, data: dict[str, Any], form: CampaignForm
) -> tuple[Campaign, int | None]:
    """The campaign as the form asks, built here when small; else queued for a build job
    (annotate.build_jobs), and the comparisons it is expected to hold come back with it."""
    systems = sorted(data["systems"], key=lambda m: m.name)
    categories = (data["categories"] or "").split(",")
    estimate = campaign_build_estimate(
        eval_set=data["eval_set"],
        systems=len(systems),
        vs_baseline=bool(data["baseline"]) or data["pairing"] == Campaign.Pairing.VS_BASELINE,
        sample=data["sample"],
        categories=categories,
    )
    here = estimate <= build_jobs.BUILD_IN_REQUEST_MAX
    campaign = services.campaign_create(
        name=data["name"],
        title=data["title"],
        eval_set=data["eval_set"],
        systems=[m.name for m in systems],
        pairing=data["pairing"],
        baseline=data["baseline"].name if data["baseline"] else None,
        ratings_per_comparison=data["ratings_per_comparison"],
        overlap=data["overlap"],
        gold_fraction=data["gold_fraction"],
        quota_per_rater=data["quota_per_rater"],
        min_seconds=DEFAULT_MIN_SECONDS if data["min_seconds"] is None else data["min_seconds"],
        instructions=data["instructions"],
        raters=data["raters"],
        created_by=request.user,  # type: ignore[arg-type]
        answered_only=data["answered_only"],
        stop_when_settled=data["stop_when_settled"],
        **form.settling_options(),
        sample=data["sample"],
        sample_seed=data["sample_seed"],
        categories=categories,
        rate=data["rate"] or Campaign.Rate.PER_TURN,
        build=here,
        open_now=data["open_now"] and here,
    )
    if here:
        return campaign, None
    campaign_build_start(
        campaign=campaign,
        answered_only=data["answered_only"],
        open_when_built=data["open_now"],
        created_by=request.user,  # type: ignore[arg-type]
    )
    return campaign, estimate


@researcher_required
@require_GET
def campaign_build_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A build has no page of its own: its campaign's page shows it."""
    build = get_object_or_404(CampaignBuild, pk=pk)
    return redirect("hub:campaign_detail", pk=build.campaign_id)
