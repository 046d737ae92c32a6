"""A campaign's recruiting page for researchers: settings, invite links, the crowd entry URL, practice items."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from annotate.models import Campaign
from annotate.recruiting import links, steps
from annotate.recruiting.forms import InviteForm, PracticeUploadForm, RecruitingForm
from annotate.recruiting_models import CampaignRecruiting, Enrollment, ExternalRater, Invite, PracticeItem
from core.roles import researcher_required


def _post_action(request: HttpRequest, campaign: Campaign) -> HttpResponse | None:
    action = request.POST.get("action")
    if action == "invite":
        form = InviteForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Invite not made: {form.errors.as_text()}")
            return None
        days = form.cleaned_data["expires_days"]
        try:
            links.invite_create(
                campaign=campaign,
                created_by=request.user,  # type: ignore[arg-type]
                label=form.cleaned_data["label"],
                expires=timezone.now() + timedelta(days=days) if days else None,
                max_uses=form.cleaned_data["max_uses"],
            )
        except links.LinkError as exc:
            messages.error(request, str(exc))
            return None
        messages.success(request, "Invite link made.")
    elif action == "revoke":
        invite = get_object_or_404(campaign.invites, pk=request.POST.get("invite") or 0)
        links.invite_revoke(invite=invite)
        messages.success(request, "Invite link revoked.")
    elif action == "practice":
        upload = PracticeUploadForm(request.POST)
        if not upload.is_valid():
            messages.error(request, "Paste at least one practice item.")
            return None
        try:
            count = steps.practice_upload(campaign=campaign, data=upload.cleaned_data["text"].encode())
        except steps.StepError as exc:
            messages.error(request, f"Practice items not added: {exc}")
            return None
        messages.success(request, f"Added {count} practice items.")
    elif action == "practice_clear":
        PracticeItem.objects.filter(campaign=campaign).delete()
        messages.success(request, "Practice items removed.")
    else:
        return None
    return redirect("recruiting:manage", pk=campaign.pk)


def session_warning(recruiting: CampaignRecruiting) -> str:
    """Why the crowd entry as set up would not end, or "" (crowd work is paid per session)."""
    if recruiting.accept_external and not (recruiting.session_items or recruiting.session_minutes):
        return (
            "Crowd entry is on without a session size: participants get their completion code only when "
            "nothing is left for them. Set the session's items or minutes below."
        )
    return ""


def _invite_url(request: HttpRequest, invite: Invite) -> str:
    return request.build_absolute_uri(reverse("recruiting:invite", args=[invite.token]))


@researcher_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    recruiting = steps.recruiting_of(campaign)
    form = RecruitingForm(instance=recruiting)
    if request.method == "POST":
        if request.POST.get("action") == "settings":
            form = RecruitingForm(request.POST, instance=recruiting)
            if form.is_valid():
                form.save()
                messages.success(request, "Recruiting settings saved.")
                return redirect("recruiting:manage", pk=pk)
        else:
            done = _post_action(request, campaign)
            if done is not None:
                return done
    entry = request.build_absolute_uri(reverse("recruiting:external", args=[recruiting.entry_token]))
    param = recruiting.external_param
    invites = campaign.invites.select_related("campaign")
    external = {e.user_id: e for e in ExternalRater.objects.filter(campaign=campaign)}
    enrolled = Enrollment.objects.filter(campaign=campaign).select_related("user").order_by("-created")[:200]
    context = {
        "campaign": campaign,
        "form": form,
        "invite_form": InviteForm(),
        "practice_form": PracticeUploadForm(),
        "invites": [
            (invite, _invite_url(request, invite), links.invite_problem(invite)) for invite in invites
        ],
        "entry_url": f"{entry}?{param}={{{{%{param}%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}&SESSION_ID={{{{%SESSION_ID%}}}}",
        "practice": PracticeItem.objects.filter(campaign=campaign),
        "enrollments": [(e, external.get(e.user_id)) for e in enrolled],
        "session_warning": session_warning(recruiting),
    }
    return render(request, "annotate/recruiting/manage.html", context)
