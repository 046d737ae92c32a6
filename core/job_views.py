"""The views every job page has beside its own detail: the status JSON, cancel and retry, and their URLs.

One kind of job (generation's, judging's) describes itself once in a JobActions; `job_action_urls`
routes `<prefix><pk>/status.json`, `.../cancel/` and `.../retry/` under the names `<name>_status`,
`<name>_cancel` and `<name>_retry`, and both actions go back to `<name>_detail`. The page's status
card is templates/core/_job_status.html.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST

from core.errors import RequestError
from core.models import Job
from core.roles import researcher_required


@dataclass(frozen=True)
class JobActions:
    """What the status, cancel and retry views need of one kind of job (services take `job=`)."""

    model: type[Job]
    noun: str  # how messages name one: "job", "judge run"
    kept: str  # what a retry keeps: "finished prompts"
    status: Callable[..., dict[str, Any]]  # the JSON the page's progress bar polls
    cancel: Callable[..., object]
    retry: Callable[..., object]  # refuses with a RequestError, shown as the page's error message


def job_action_urls(prefix: str, *, name: str, actions: JobActions) -> list[URLPattern]:
    """The three routes for one kind of job; `prefix` is what comes before the pk ("jobs/")."""

    def back(request: HttpRequest, pk: int) -> HttpResponse:
        """To the job's page, in the namespace these routes were included under."""
        match = request.resolver_match
        detail = f"{name}_detail"
        return redirect(f"{match.namespace}:{detail}" if match and match.namespace else detail, pk=pk)

    @researcher_required
    @require_GET
    def status(request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(actions.status(job=get_object_or_404(actions.model, pk=pk)))

    @researcher_required
    @require_POST
    def cancel(request: HttpRequest, pk: int) -> HttpResponse:
        actions.cancel(job=get_object_or_404(actions.model, pk=pk))
        messages.success(request, f"Cancellation of {actions.noun} {pk} requested.")
        return back(request, pk)

    @researcher_required
    @require_POST
    def retry(request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(actions.model, pk=pk)
        try:
            actions.retry(job=job)
        except RequestError as exc:
            messages.error(request, str(exc))
        else:
            noun = actions.noun[:1].upper() + actions.noun[1:]
            messages.success(request, f"{noun} {pk} queued again; {actions.kept} are kept.")
        return back(request, pk)

    return [
        path(f"{prefix}<int:pk>/status.json", status, name=f"{name}_status"),
        path(f"{prefix}<int:pk>/cancel/", cancel, name=f"{name}_cancel"),
        path(f"{prefix}<int:pk>/retry/", retry, name=f"{name}_retry"),
    ]
