"""Researcher pages: models, generation jobs with live progress, a job's samples and decisions."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from core.job_views import JobActions
from core.plots import figure_html
from core.roles import researcher_required
from eval_sets.importers import EvalSetImportError
from eval_sets.services import eval_set_check_size
from generation.filters import JobPromptFilter
from generation.forms import JobCreateForm, ModelRegisterForm, OutputsUploadForm
from generation.models import GenerationJob, ModelSpec
from generation.outputs_import import outputs_import
from generation.selectors import (
    PromptSamples,
    generation_export_lines,
    generation_job_categories,
    generation_job_prompt_rows,
    generation_job_scores,
    generation_job_status,
    generation_samples_by_prompt,
)
from generation.services import (
    GenerationError,
    generation_job_cancel,
    generation_job_create,
    generation_job_retry,
    model_spec_register,
    model_spec_register_served,
)

PROMPTS_PER_PAGE = 10  # with two summary figures above, a page stays a few screens long

# The status JSON, cancel and retry routes of a job (core's job kit; generation/urls.py routes them).
JOB_ACTIONS = JobActions(
    model=GenerationJob,
    noun="job",
    kept="finished prompts",
    status=generation_job_status,
    cancel=generation_job_cancel,
    retry=generation_job_retry,
)


def _model_register(form: ModelRegisterForm) -> ModelSpec:
    """The same services `register_model` calls, for the backend the form chose."""
    data = form.cleaned_data
    if data["backend"] == ModelSpec.Backend.OPENAI:
        return model_spec_register_served(
            name=data["name"],
            base_url=data["base_url"],
            served_model=data["served_model"],
            chat=data["chat"],
            api_key_env=data["api_key_env"],
        )
    return model_spec_register(
        name=data["name"],
        path=data["path"],
        kind=data["kind"] or None,
        chat_template=data["chat_template"],
        dtype=data["dtype"] or ModelSpec.DType.AUTO,
    )


@researcher_required
@require_http_methods(["GET", "POST"])
def model_list(request: HttpRequest) -> HttpResponse:
    form = ModelRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            spec = _model_register(form)
        except GenerationError as exc:
            form.add_error(None, str(exc))
        else:
            where = f"{spec.served_model} at {spec.base_url}" if spec.is_served else spec.path
            messages.success(request, f"Registered {spec.name} ({where}).")
            return redirect("generation:model_list")
    models = ModelSpec.objects.annotate(job_count=Count("generation_jobs"))
    context = {
        "models": models,
        "form": form,
        "in_process_fields": [form[name] for name in form.IN_PROCESS_FIELDS],
        "served_fields": [form[name] for name in form.SERVED_FIELDS],
    }
    return render(request, "generation/model_list.html", context)


@researcher_required
@require_http_methods(["GET", "POST"])
def outputs_upload(request: HttpRequest) -> HttpResponse:
    """Answers made elsewhere, uploaded: the `import_outputs` service, all or nothing."""
    form = OutputsUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        name = upload.name or "upload"
        try:
            eval_set_check_size(size=upload.size or 0, filename=name)  # before reading it
            job = outputs_import(
                model_name=form.cleaned_data["model_name"],
                eval_set=form.cleaned_data["eval_set"],
                data=upload.read(),
                filename=name,
            )
        except (EvalSetImportError, GenerationError) as exc:
            form.add_error("file", f"Nothing was imported: {exc}")
        else:
            messages.success(
                request,
                f"Imported {job.prompts_done} answers of {job.model.name} on {job.eval_set} "
                f"(of its {job.eval_set.prompts.count()} prompts) as job {job.pk}.",
            )
            return redirect("generation:job_detail", pk=job.pk)
    external = ModelSpec.objects.filter(source=ModelSpec.Source.EXTERNAL).values_list("name", flat=True)
    return render(request, "generation/outputs_upload.html", {"form": form, "external_names": list(external)})


@researcher_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = GenerationJob.objects.select_related("model", "eval_set")[:200]
    return render(request, "generation/job_list.html", {"jobs": jobs})


@researcher_required
def job_create(request: HttpRequest) -> HttpResponse:
    form = JobCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = generation_job_create(
                model=data["model"],
                eval_set=data["eval_set"],
                params=form.params(),
                created_by=request.user,  # type: ignore[arg-type]
            )
        except GenerationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Queued generation job {job.pk}.")
            return redirect("generation:job_detail", pk=job.pk)
    return render(request, "generation/job_create.html", {"form": form})


def _histogram(scores: list[float], kept: list[bool], thresholds: list[float], height: int = 320) -> str:
    """A plotly histogram as container + JSON (static/core/plots.js draws it). Only numbers go in."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_histogram(
        x=[s for s, k in zip(scores, kept, strict=True) if k], name="kept", marker_color="#15803d"
    )
    fig.add_histogram(
        x=[s for s, k in zip(scores, kept, strict=True) if not k], name="filtered", marker_color="#b91c1c"
    )
    for threshold in thresholds:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#1d4ed8")
    fig.update_layout(
        barmode="stack",
        height=height,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        xaxis_title="log probability (sum)",
        yaxis_title="samples",
        legend={"orientation": "h"},
    )
    return figure_html(fig, config={"displayModeBar": False})


def _page_scores(groups: list[PromptSamples]) -> str | None:
    """One figure for a page's prompts (not one each): every sample's score, its decision, the threshold."""
    import plotly.graph_objects as go

    points: dict[str, tuple[list[str], list[float]]] = {
        "chosen": ([], []),
        "kept": ([], []),
        "filtered": ([], []),
    }
    thresholds: tuple[list[str], list[float]] = ([], [])
    for group in groups:
        uid = group.prompt.uid
        for sample in group.samples:
            if sample.logprob_sum is None:
                continue
            decision = "chosen" if sample.selected else "kept" if sample.kept else "filtered"
            points[decision][0].append(uid)
            points[decision][1].append(sample.logprob_sum)
        if group.threshold is not None:
            thresholds[0].append(uid)
            thresholds[1].append(group.threshold)
    if not any(xs for xs, _ in points.values()):
        return None
    fig = go.Figure()
    colors = {"chosen": "#1d4ed8", "kept": "#15803d", "filtered": "#b91c1c"}
    for decision, (xs, ys) in points.items():
        fig.add_scatter(
            x=xs, y=ys, mode="markers", name=decision, marker={"color": colors[decision], "size": 8}
        )
    fig.add_scatter(
        x=thresholds[0], y=thresholds[1], mode="markers", name="threshold (median / 2)",
        marker={"symbol": "line-ew-open", "size": 18, "color": "#57534e"},
    )  # fmt: skip
    fig.update_layout(
        height=300,
        margin={"l": 50, "r": 10, "t": 10, "b": 80},
        yaxis_title="log probability (sum)",
        legend={"orientation": "h", "y": -0.45},
    )
    fig.update_xaxes(type="category", tickangle=-45, automargin=True)
    return figure_html(fig, config={"displayModeBar": False})


@researcher_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(GenerationJob.objects.select_related("model", "eval_set"), pk=pk)
    prompts = generation_job_prompt_rows(job=job)
    filters = JobPromptFilter(request.GET, queryset=prompts, categories=generation_job_categories(job=job))
    # A bad value (an unknown category) shows its error and lists nothing rather than being ignored.
    matching = filters.qs if filters.is_valid() else prompts.none()
    page = Paginator(matching, PROMPTS_PER_PAGE).get_page(request.GET.get("page"))
    groups = generation_samples_by_prompt(job=job, prompts=list(page.object_list))
    scores = generation_job_scores(job=job)
    scored_pairs = [(score, kept) for score, kept in scores if score is not None]
    overview = None
    if scored_pairs:
        overview = _histogram([s for s, _ in scored_pairs], [k for _, k in scored_pairs], [])
    context = {
        "job": job,
        "page": page,
        "groups": groups,
        "filter": filters,
        "filtering": any(request.GET.get(name) for name in filters.filters),
        "overview": overview,
        "page_scores": _page_scores(groups),
        "filtered": sum(1 for _, kept in scores if not kept),
        "sample_count": len(scores),
        "status": generation_job_status(job=job),
    }
    return render(request, "generation/job_detail.html", context)


@researcher_required  # type: ignore[type-var]
@require_GET
def job_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = get_object_or_404(GenerationJob, pk=pk)
    with_tokens = request.GET.get("tokens") == "1"
    response = StreamingHttpResponse(
        generation_export_lines(job=job, with_tokens=with_tokens), content_type="application/x-ndjson"
    )
    suffix = "-tokens" if with_tokens else ""
    response["Content-Disposition"] = content_disposition_header(True, f"generation-{job.pk}{suffix}.jsonl")
    return response
