"""/api/v1/ (each view takes Idempotency-Key) and the researcher's token and webhook pages."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path

from api import views
from api.api import api
from api.idempotency import idempotent


def api_urls() -> tuple[list[Any], str, str]:
    """ninja's URL patterns (patterns, app_name, namespace) for `path`, each view wrapped for Idempotency-Key."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            callback = idempotent(pattern.callback)
            # The API answers 401/403 as JSON itself; the site's login redirect is for pages.
            callback.login_required = False  # type: ignore[attr-defined]
            pattern.callback = callback
    return list(patterns), app_name, namespace


app_name = "api_pages"
urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook"),
]
