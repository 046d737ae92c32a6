"""The site's own pages: where a login lands, the dashboard, and a campaign's page with its statistics.

The campaign page lives here, not in annotate, because its figures are the reports' and no app may
import reports; the forms on it post to annotate's write views, which redirect back here.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from analysis.quality_flags import REASON_MAX_CHARS
from annotate.build_jobs import campaign_build_line
from annotate.build_models import CampaignBuild
from annotate.comments import LATEST_COMMENTS, campaign_latest_comments
from annotate.forms import rater_users
from annotate.models import Campaign
from annotate.sampling import campaign_setup_view
from annotate.selectors import campaign_flag_thresholds
from core.roles import is_rater, is_researcher, researcher_required
from hub.campaign_page import campaign_page_summary
from hub.dashboard import dashboard_data
from reports.campaign_report import campaign_judge_summary


def home(request: HttpRequest) -> HttpResponse:
    if is_researcher(request.user):
        return redirect("dashboard")
    if is_rater(request.user):
        return redirect("annotate:queue")
    return render(request, "hub/no_role.html", status=403)


@researcher_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "hub/dashboard.html", dashboard_data())


# Seconds between reloads of a campaign page whose first summary a worker is computing.
PENDING_RELOAD = 5


@researcher_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("eval_set"), pk=pk)
    if campaign.status == Campaign.Status.BUILDING:
        # Its rows are still being written: the page is the build's progress, not figures over a part.
        build = CampaignBuild.objects.filter(campaign=campaign).first()
        line = "" if build is None else campaign_build_line(job=build)
        context = {"campaign": campaign, "systems": campaign.system_names(), "build": build, "line": line}
        return render(request, "hub/campaign_building.html", context)
    summary = campaign_page_summary(campaign=campaign, compute_now=request.GET.get("compute") == "now")
    if summary is None:
        context = {"campaign": campaign, "systems": campaign.system_names(), "pending_reload": PENDING_RELOAD}
        return render(request, "hub/campaign_pending.html", context)
    in_pool = {rater.rater_id for rater in summary["raters"] if rater.in_pool}
    context = {
        "campaign": campaign,
        "systems": campaign.system_names(),
        **summary,
        "addable": rater_users().exclude(pk__in=in_pool),
        "judge": campaign_judge_summary(campaign=campaign),
        "flag_thresholds": campaign_flag_thresholds(campaign=campaign),
        "reason_max_chars": REASON_MAX_CHARS,
        "comments": campaign_latest_comments(campaign=campaign),
        "comments_limit": LATEST_COMMENTS,
        "setup": campaign_setup_view(campaign=campaign),
    }
    return render(request, "hub/campaign_detail.html", context)
