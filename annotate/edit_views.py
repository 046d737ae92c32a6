"""The campaign edit page: what may change while a campaign runs (annotate.services.campaign_edit)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from annotate.forms import CampaignEditForm
from annotate.models import Campaign
from annotate.services.campaign_edit import CampaignEditError, campaign_edit
from core.roles import researcher_required


@researcher_required
@require_http_methods(["GET", "POST"])
def campaign_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignEditForm.for_campaign(campaign, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user: User = request.user  # type: ignore[assignment]
        try:
            log = campaign_edit(campaign=campaign, changed_by=user, **form.cleaned_data)
        except CampaignEditError as exc:
            message = f"{str(exc)[0].upper()}{str(exc)[1:]}."
            form.add_error(exc.field if exc.field in form.fields else None, message)
        else:
            if log:
                changed = ", ".join(str(form.fields[c.field].label or c.field) for c in log)
                messages.success(request, f"Changed: {changed}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("hub:campaign_detail", pk=pk)
    changes = campaign.changes.select_related("changed_by")[:50]  # type: ignore[attr-defined]
    return render(
        request, "annotate/campaign_edit.html", {"campaign": campaign, "form": form, "changes": changes}
    )
