"""Rater pages (the queue, the rating page and its JSON calls) and researcher pages (campaign writes).

The campaign page itself, which shows statistics, is rendered by `hub` from the reports' functions;
the researcher views here change a campaign and send the researcher back to it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import assignment, selectors, services
from annotate.campaign_new_views import warn_infeasible
from annotate.forms import GoldUploadForm, RaterCreateForm, rater_users
from annotate.json_bodies import SUBMIT_FIELDS, RequestError, rater_request
from annotate.models import Campaign, Comparison, Lease
from annotate.rater_payload import item_payload
from annotate.rater_tokens import comparison_token
from annotate.recruiting import sessions
from annotate.rendering import render_markdown
from core.roles import rater_required, researcher_required
from core.users import user_create
from eval_sets.importers import EvalSetImportError
from eval_sets.services import eval_set_check_size

# --- rater side -------------------------------------------------------------------------------
# Everything a rater receives about an item is built in annotate.rater_payload, from sides only.


def _progress_payload(progress: assignment.Progress) -> dict[str, Any]:
    # Only what the rater may know: never how "remaining" splits into checks and regular items.
    return {
        "done": progress.done,
        "remaining": progress.remaining,
        "percent": round(progress.percent, 1),
        "only_skipped": progress.only_skipped,
    }


def _state(
    comparison: Comparison | None, progress: assignment.Progress, rater: User, **extra: Any
) -> JsonResponse:
    body = {
        "item": item_payload(comparison, rater),
        "progress": _progress_payload(progress),
        "undo": progress.undo,
        **extra,
    }
    return JsonResponse(body)


def _serve(campaign: Campaign, user: User, **extra: Any) -> JsonResponse:
    # A crowd participant's session ends the loop: nothing more is served, the page goes to the end page.
    session = _session(campaign, user)
    if session is not None and session.over:
        progress = assignment.rater_progress(campaign=campaign, rater=user)
        return _state(None, progress, user, finish_url=sessions.finish_url(campaign), **extra)
    item, progress = assignment.item_serve(campaign=campaign, rater=user)
    return _state(item, sessions.in_session(progress, session), user, **extra)


def _session(campaign: Campaign, user: User) -> sessions.Session | None:
    # `session_bound` comes with the campaign's read (rater_access): no query for raters without one.
    bound = getattr(campaign, "session_bound", True)
    return sessions.session_of(campaign=campaign, rater=user) if bound else None


def _rater_campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    return _rater_campaign_excluded(request, campaign_id)[0]


def _rater_campaign_excluded(request: HttpRequest, campaign_id: int) -> tuple[Campaign, list[int]]:
    """The campaign and its excluded rater ids, read together (the rating calls need both)."""
    # Not in the pool, excluded or closed all look the same: there is nothing here for this rater.
    found = assignment.rater_campaign(rater=request.user, campaign_id=campaign_id)  # type: ignore[arg-type]
    if found is None:
        raise Http404("no such rating task")
    return found


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


@rater_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    rows = []
    for campaign in assignment.rater_campaigns(rater=user):
        rows.append(
            {"campaign": campaign, "progress": assignment.rater_progress(campaign=campaign, rater=user)}
        )
    return render(request, "annotate/queue.html", {"rows": rows})


@rater_required
@require_GET
@never_cache
def rate_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _rater_campaign(request, campaign_id)
    # The guidelines are shown open until the rater has been served an item of this campaign.
    user: User = request.user  # type: ignore[assignment]
    first_visit = not Lease.objects.filter(campaign=campaign, rater=user).exists()
    return render(
        request,
        "annotate/rate.html",
        {
            "campaign": campaign,
            "undo_seconds": assignment.UNDO_SECONDS,
            "instructions_html": render_markdown(campaign.instructions),
            "first_visit": first_visit,
        },
    )


@rater_required
@require_POST
@never_cache
def api_next(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign = _rater_campaign(request, campaign_id)
    try:
        rater_request(request, {})
    except RequestError as exc:
        return _bad(str(exc))
    return _serve(campaign, request.user)  # type: ignore[arg-type]


@rater_required
@require_POST
@never_cache
def api_submit(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign, excluded = _rater_campaign_excluded(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    try:
        data = rater_request(request, SUBMIT_FIELDS)
    except RequestError as exc:
        return _bad(str(exc))
    args: dict[str, Any] = {
        "campaign": campaign,
        "rater": user,
        "token": comparison_token(shown=data.get("token", ""), rater_id=user.pk),
        "side": data.get("side", ""),
        "comment": data.get("comment", ""),
        "seconds": data.get("seconds"),
        "excluded": excluded,
    }
    # The page's per-rating call (submit with next) is one transaction, except in a crowd session,
    # whose end is known only once the rating is stored.
    session = _session(campaign, user)
    try:
        if data.get("next") and session is None:
            rating, created, item, progress = assignment.rating_submit_and_serve(**args)
        else:
            rating, created = assignment.rating_submit(**args)
    except assignment.RatingError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    # The stored rating as the rater knows it: the side they clicked, never the system.
    stored = {"side": rating.side, "comment": rating.comment, "seconds": rating.seconds}
    if data.get("next"):
        if session is not None:
            return _serve(campaign, user, rating=stored, created=created)
        return _state(item, progress, user, rating=stored, created=created)
    progress = assignment.rater_progress(campaign=campaign, rater=user)
    return JsonResponse(
        {
            "rating": stored,
            "created": created,
            "progress": _progress_payload(progress),
            "undo": True,
        }
    )


@rater_required
@require_POST
@never_cache
def api_undo(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign = _rater_campaign(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    try:
        rater_request(request, {})
        comparison = assignment.rating_undo(campaign=campaign, rater=user)
    except RequestError as exc:
        return _bad(str(exc))
    except assignment.RatingError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return _state(comparison, assignment.rater_progress(campaign=campaign, rater=user), user)


@rater_required
@require_POST
@never_cache
def api_skip(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign = _rater_campaign(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    try:
        data = rater_request(request, {"token": str})
    except RequestError as exc:
        return _bad(str(exc))
    token = comparison_token(shown=data.get("token", ""), rater_id=user.pk)
    assignment.item_skip(campaign=campaign, rater=user, token=token)
    return _serve(campaign, user)


# --- researcher side --------------------------------------------------------------------------


@researcher_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "annotate/campaign_list.html", {"campaigns": selectors.campaigns_with_counts()})


@researcher_required
@require_POST
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        services.campaign_status_set(campaign=campaign, status=request.POST.get("status", ""))
    except services.CampaignError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Campaign is now {campaign.get_status_display().lower()}.")
    return redirect("hub:campaign_detail", pk=pk)


@researcher_required
@require_POST
def campaign_raters(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    user = get_object_or_404(User, pk=request.POST.get("user") or 0)
    action = request.POST.get("action")
    try:
        if action == "add":
            services.campaign_rater_add(campaign=campaign, user=user)
        elif action == "remove":
            services.campaign_rater_remove(campaign=campaign, user=user)
        elif action == "exclude":
            services.campaign_rater_exclude(
                campaign=campaign, user=user, reason=request.POST.get("reason", "")
            )
        elif action == "include":
            services.campaign_rater_include(campaign=campaign, user=user)
        else:
            raise services.CampaignError(f"unknown action {action!r}")
    except services.CampaignError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{user.username}: {action} done.")
        warn_infeasible(request, campaign)
    return redirect("hub:campaign_detail", pk=pk)


@researcher_required
@require_http_methods(["GET", "POST"])
def campaign_gold(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    upload = GoldUploadForm()
    if request.method == "POST":
        if "file" in request.FILES:
            upload = GoldUploadForm(request.POST, request.FILES)
            if upload.is_valid():
                file = upload.cleaned_data["file"]
                try:
                    eval_set_check_size(size=file.size or 0, filename=file.name)  # before reading it
                    count = services.gold_upload(campaign=campaign, data=file.read(), filename=file.name)
                except (EvalSetImportError, services.CampaignError) as exc:
                    messages.error(request, f"Gold file not added: {exc}")
                else:
                    messages.success(request, f"Added {count} gold pairs.")
                    return redirect("annotate:campaign_gold", pk=pk)
        else:
            comparison = get_object_or_404(
                Comparison, campaign=campaign, pk=request.POST.get("comparison") or 0
            )
            answer = request.POST.get("answer") or None
            try:
                services.comparison_gold_mark(comparison=comparison, answer=answer)
            except services.CampaignError as exc:
                messages.error(request, str(exc))
            return redirect(f"{request.path}?page={request.POST.get('page', 1)}")
    comparisons = (
        campaign.comparisons.select_related("prompt", "system_a", "system_b", "texts")
        .annotate(n_ratings=Count("ratings"))
        .order_by("-gold_answer", "prompt__position", "pk")
    )
    gold_only = request.GET.get("gold") == "1"
    if gold_only:
        comparisons = comparisons.filter(gold_answer__isnull=False)
    page = Paginator(comparisons, 25).get_page(request.GET.get("page"))
    context = {
        "campaign": campaign,
        "page": page,
        "upload": upload,
        "answers": Comparison.Answer.choices,
        "gold_only": gold_only,
        "gold_count": campaign.comparisons.filter(~Q(gold_answer=None)).count(),
    }
    return render(request, "annotate/campaign_gold.html", context)


@researcher_required
@require_http_methods(["GET", "POST"])
def rater_list(request: HttpRequest) -> HttpResponse:
    form = RaterCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"], role="rater", password=form.cleaned_data["password"]
            )
        except ValueError as exc:
            form.add_error(getattr(exc, "field", "username"), str(exc))
        else:
            messages.success(request, f"Rater {user.username} created.")
            return redirect("annotate:rater_list")
    raters = rater_users().annotate(
        n_campaigns=Count("rating_campaigns", distinct=True),
    )
    return render(request, "annotate/raters.html", {"form": form, "raters": raters})
