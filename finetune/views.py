from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.roles import researcher_required
from finetune.forms import FinetuneJobForm
from finetune.models import FinetuneJob
from finetune.services import finetune_job_cancel, finetune_job_create, finetune_job_retry


@researcher_required
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = FinetuneJob.objects.select_related("base_model", "output_model")
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    return render(request, "finetune/job_list.html", {"page": page})


@researcher_required
def job_create(request: HttpRequest) -> HttpResponse:
    form = FinetuneJobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = finetune_job_create(
                base=data["base"],
                mixture_path=data["mixture_path"],
                name=data["name"],
                hyperparameters={k: data[k] for k in FinetuneJobForm.HYPER},
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            return redirect("finetune:job_detail", pk=job.pk)
    return render(request, "finetune/job_form.html", {"form": form})


def _metrics_payload(job: FinetuneJob) -> dict[str, object]:
    return {
        "id": job.pk,
        "status": job.status,
        "step": job.step,
        "total_steps": job.total_steps,
        "metrics": job.metrics,
        "error": job.error,
    }


@researcher_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(FinetuneJob.objects.select_related("base_model", "output_model"), pk=pk)
    percent = round(100 * job.step / job.total_steps) if job.total_steps else 0
    last = job.metrics[-1] if job.metrics else {}
    hp = {k: v for k, v in job.hyperparameters.items() if k != "mixture"}
    tasks = job.hyperparameters.get("mixture", {}).get("tasks", [])
    return render(
        request,
        "finetune/job_detail.html",
        {
            "job": job,
            "percent": percent,
            "last": last,
            "hp": hp,
            "tasks": tasks,
            "payload": _metrics_payload(job),
        },
    )


@researcher_required
@require_GET
def job_metrics(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(_metrics_payload(get_object_or_404(FinetuneJob, pk=pk)))


@researcher_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    finetune_job_cancel(job=get_object_or_404(FinetuneJob, pk=pk))
    return redirect("finetune:job_detail", pk=pk)


@researcher_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(FinetuneJob, pk=pk)
    try:
        finetune_job_retry(job=job)
    except ValidationError as exc:
        from django.contrib import messages

        messages.error(request, "; ".join(exc.messages))
    return redirect("finetune:job_detail", pk=pk)
