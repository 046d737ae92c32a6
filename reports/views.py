"""Report pages for researchers: a list of campaigns, one campaign's report, downloads.

The page and the downloads build the report with the same two calls (``campaign_report_source``, then
``report_of`` through ``report_export``), so the page shows what the JSON download holds.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET

from analysis.report import ReportInputError, systems_in_order
from core.roles import researcher_required
from reports.campaign_records import Campaign, campaign_by_pk, campaign_rater_names
from reports.campaign_report import STREAMED_FORMATS, campaign_ratings_chunks, campaign_report_source
from reports.exports import CONTENT_TYPES, DOWNLOAD_FORMATS, EXTENSIONS, REPORT_FORMATS, report_export
from reports.presentation import report_context
from reports.sources import ExportError, report_of


def _campaign_or_404(pk: int) -> Campaign:
    campaign = campaign_by_pk(pk)
    if campaign is None:
        raise Http404("no such campaign")
    return campaign


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {
        "baseline": request.GET.get("baseline") or None,
        "candidate": request.GET.get("candidate") or None,
        "exclude_raters": [name for name in request.GET.getlist("exclude_rater") if name],
        "exclude_gold": request.GET.get("exclude_gold") in ("1", "on", "true"),
    }


def _query(filters: dict[str, Any], **extra: str) -> str:
    pairs: list[tuple[str, str]] = []
    for key in ("baseline", "candidate"):
        if filters[key]:
            pairs.append((key, filters[key]))
    pairs += [("exclude_rater", name) for name in filters["exclude_raters"]]
    if filters["exclude_gold"]:
        pairs.append(("exclude_gold", "1"))
    pairs += list(extra.items())
    return urlencode(pairs)


@researcher_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.annotate(rating_count=Count("ratings", distinct=True)).order_by("-created")
    return render(request, "reports/index.html", {"campaigns": campaigns})


@researcher_required
@require_GET
def campaign_report(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(pk)
    filters = _filters(request)
    source = campaign_report_source(
        campaign=campaign,
        exclude_raters=filters["exclude_raters"],
        exclude_gold=filters["exclude_gold"],
        texts=False,  # the page is the report: style counts, not texts
    )
    context: dict[str, Any] = {
        "campaign": campaign,
        "filters": filters,
        "systems": systems_in_order(records=source.ratings, preferred=source.system_order),
        "all_raters": sorted({*campaign_rater_names(campaign=campaign), *filters["exclude_raters"]}),
        "downloads": [(fmt, _query(filters, format=fmt)) for fmt in DOWNLOAD_FORMATS],
        "error": None,
    }
    try:
        report = report_of(source=source, baseline=filters["baseline"], candidate=filters["candidate"])
    except ReportInputError as exc:
        context["error"] = str(exc)
    else:
        context.update(report_context(report=report, records=source.ratings, title=campaign.name))
    return render(request, "reports/campaign.html", context)


@researcher_required
@require_GET
def campaign_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A report export, or the ratings themselves (csv, jsonl, parquet), streamed a chunk at a time so a
    campaign of a million ratings downloads in constant memory."""
    campaign = _campaign_or_404(pk)
    filters = _filters(request)
    fmt = request.GET.get("format", "json")
    if fmt not in DOWNLOAD_FORMATS:
        return HttpResponse(
            f"unknown format; choose one of {', '.join(DOWNLOAD_FORMATS)}",
            status=400,
            content_type="text/plain",
        )
    response: HttpResponseBase
    if fmt in STREAMED_FORMATS:
        chunks = campaign_ratings_chunks(
            campaign=campaign,
            fmt=fmt,
            exclude_raters=filters["exclude_raters"],
            exclude_gold=filters["exclude_gold"],
        )
        response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
    else:
        source = campaign_report_source(
            campaign=campaign,
            exclude_raters=filters["exclude_raters"],
            exclude_gold=filters["exclude_gold"],
            # The report reads the answers' stored style counts, not their texts.
            texts=fmt not in REPORT_FORMATS,
        )
        try:
            text = report_export(
                source=source, fmt=fmt, baseline=filters["baseline"], candidate=filters["candidate"]
            )
        except (ExportError, ReportInputError) as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(text, content_type=CONTENT_TYPES[fmt])
    safe_name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in campaign.name) or "campaign"
    response["Content-Disposition"] = content_disposition_header(
        True, f"{safe_name}-report.{EXTENSIONS[fmt]}"
    )
    return response
