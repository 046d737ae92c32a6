"""Researcher pages: the sets and their versions, one version's prompts, and the upload form."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from core.roles import researcher_required
from eval_sets.forms import EvalSetUploadForm
from eval_sets.importers import EvalSetImportError
from eval_sets.models import EvalSet, Setting
from eval_sets.services import eval_set_check_size, eval_set_export, eval_set_import

PROMPTS_PER_PAGE = 25


@researcher_required
def eval_set_list(request: HttpRequest) -> HttpResponse:
    versions = EvalSet.objects.annotate(prompt_count=Count("prompts")).order_by("name", "-version")
    by_name: dict[str, list[EvalSet]] = defaultdict(list)
    for eval_set in versions:
        by_name[eval_set.name].append(eval_set)
    return render(request, "eval_sets/list.html", {"sets": sorted(by_name.items())})


@researcher_required
def eval_set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    eval_set = get_object_or_404(EvalSet, pk=pk)
    prompts = eval_set.prompts.order_by("position")
    cells = Counter(prompts.values_list("category", "setting"))
    categories = sorted({category for category, _ in cells})
    settings_used = [value for value, _ in Setting.choices if any(s == value for _, s in cells)]
    table = [
        {
            "category": category,
            "counts": [cells.get((category, setting), 0) for setting in settings_used],
            "total": sum(cells.get((category, setting), 0) for setting in settings_used),
        }
        for category in categories
    ]
    column_totals = [sum(n for (_, s), n in cells.items() if s == setting) for setting in settings_used]

    chosen_category = request.GET.get("category", "")
    chosen_setting = request.GET.get("setting", "")
    shown = prompts
    if chosen_category:
        shown = shown.filter(category=chosen_category)
    if chosen_setting:
        shown = shown.filter(setting=chosen_setting)
    page = Paginator(shown, PROMPTS_PER_PAGE).get_page(request.GET.get("page"))
    # Metadata values are shown as JSON, not as Python reprs; strings as they are.
    entries = [
        (
            prompt,
            [
                (key, value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False))
                for key, value in prompt.metadata.items()
            ],
        )
        for prompt in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "eval_sets/detail.html",
        {
            "eval_set": eval_set,
            "other_versions": EvalSet.objects.filter(name=eval_set.name).exclude(pk=eval_set.pk),
            "settings_used": [(value, Setting(value).label) for value in settings_used],
            "table": table,
            "column_totals": column_totals,
            "total": sum(cells.values()),
            "categories": categories,
            "chosen_category": chosen_category,
            "chosen_setting": chosen_setting,
            "page": page,
            "entries": entries,
            "query": query.urlencode(),
        },
    )


@researcher_required
def eval_set_download(request: HttpRequest, pk: int) -> HttpResponse:
    eval_set = get_object_or_404(EvalSet, pk=pk)
    response = HttpResponse(
        eval_set_export(eval_set=eval_set), content_type="application/jsonl; charset=utf-8"
    )
    # Django quotes and RFC 5987-encodes the name: a set may be called `bad/name"x`.
    filename = f"{eval_set.name}-v{eval_set.version}.jsonl"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@researcher_required
@require_http_methods(["GET", "POST"])
def eval_set_upload(request: HttpRequest) -> HttpResponse:
    form = EvalSetUploadForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            eval_set_check_size(size=upload.size or 0, filename=upload.name or "upload")
            result = eval_set_import(
                data=upload.read(),
                filename=upload.name or "upload",
                name=form.cleaned_data["name"] or None,
                description=form.cleaned_data["description"],
                format=form.cleaned_data["format"],
                id_field=form.cleaned_data["id_field"] or None,
                prompt_field=form.cleaned_data["prompt_field"] or None,
                category_field=form.cleaned_data["category_field"] or None,
            )
        except EvalSetImportError as exc:
            problems = [str(problem) for problem in exc.problems]
            if exc.truncated:
                problems.append("… further problems not shown")
            form.add_error("file", "Nothing was imported: fix the problems listed below.")
        else:
            eval_set = result.eval_set
            if result.created:
                messages.success(
                    request, f"Imported {eval_set.name} v{eval_set.version}: {result.prompt_count} prompts."
                )
            else:
                messages.info(
                    request, f"Identical content is already stored as {eval_set.name} v{eval_set.version}."
                )
            for note in result.notes:
                messages.info(request, note)
            return redirect("eval_sets:detail", pk=eval_set.pk)
    return render(request, "eval_sets/upload.html", {"form": form, "problems": problems})
