"""The researcher's pages: API tokens (made, shown once, revoked) and webhooks with their delivery logs."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from api.models import ApiToken, Webhook, WebhookEvent
from api.tokens import TokenError, api_token_create, api_token_revoke
from api.webhooks import WebhookError, webhook_create, webhook_delete
from core.roles import researcher_required


def _expiry_days(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise TokenError("expires in days must be a whole number (or left empty)") from None


@researcher_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    secret = None
    error = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = get_object_or_404(ApiToken, pk=request.POST["revoke"], user=request.user)
            api_token_revoke(token=token)
            messages.success(request, f"Token {token} revoked: it stops working at once.")
            return redirect("api_pages:tokens")
        try:
            made = api_token_create(
                user=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
                expires_days=_expiry_days(request.POST.get("expires_days", "")),
            )
        except TokenError as exc:
            error = str(exc)
        else:
            secret = made.secret
    rows = ApiToken.objects.filter(user=request.user)  # type: ignore[misc]
    context = {"tokens": rows, "secret": secret, "error": error}
    return render(request, "api/tokens.html", context, status=400 if error else 200)


@researcher_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    error = None
    created = None
    if request.method == "POST":
        try:
            created = webhook_create(
                user=request.user,  # type: ignore[arg-type]
                url=request.POST.get("url", ""),
                events=request.POST.getlist("events"),
            )
        except WebhookError as exc:
            error = str(exc)
    context = {
        "hooks": Webhook.objects.filter(user=request.user),  # type: ignore[misc]
        "events": WebhookEvent.choices,
        "error": error,
        "created": created,
    }
    return render(request, "api/webhooks.html", context, status=400 if error else 200)


@researcher_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk, user=request.user)
    if request.method == "POST" and "delete" in request.POST:
        webhook_delete(hook=hook)
        messages.success(request, f"Webhook to {hook.url} deleted.")
        return redirect("api_pages:webhooks")
    context = {"hook": hook, "deliveries": hook.deliveries.all()[:200]}
    return render(request, "api/webhook_detail.html", context)
