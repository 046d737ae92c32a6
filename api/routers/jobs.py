"""/generation-jobs, /finetune-jobs and /judge-runs: create, get, cancel, retry; samples streamed."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from api.errors import ApiError
from api.schemas.jobs import FinetuneJobIn, GenerationJobIn, JobOut, JudgeRunIn
from core.models import Job
from finetune.models import FinetuneJob
from finetune.services import finetune_job_cancel, finetune_job_create, finetune_job_retry
from generation.models import GenerationJob
from generation.params import GenerationParams
from generation.selectors import generation_export_lines, generation_job_status
from generation.services import generation_job_cancel, generation_job_create, generation_job_retry
from judging.models import JudgeRun
from judging.selectors import judge_run_status
from judging.services import judge_run_cancel, judge_run_create, judge_run_retry

router = Router(tags=["jobs"])

# The API's names for GenerationParams' fields, as the generate command names them.
PARAM_NAMES = {"samples_per_prompt": "samples", "prompt_limit": "limit"}


def job_out(job: Job) -> dict[str, Any]:
    if isinstance(job, GenerationJob):
        kind, detail = "generation", generation_job_status(job=job)
        done, total = job.prompts_done, job.prompts_total
        detail.update(model=job.model.name, eval_set=str(job.eval_set))
    elif isinstance(job, FinetuneJob):
        kind, done, total = "finetune", job.step, job.total_steps
        detail = {
            "name": job.name,
            "base": job.base_model.name,
            "model": getattr(job.output_model, "name", None),
        }
    else:
        assert isinstance(job, JudgeRun)
        kind, detail = "judge", judge_run_status(run=job)
        done, total = detail.get("prompts_done", 0), detail.get("prompts_total", 0)
    return {
        "id": job.pk, "kind": kind, "status": job.status, "done": done, "total": total, "error": job.error,
        "cancel_requested": job.cancel_requested, "created": job.created, "finished": job.finished,
        "detail": detail,
    }  # fmt: skip


# ---- generation --------------------------------------------------------------------------------
@router.post("/generation-jobs", response={201: JobOut}, summary="Queue a generation job")
def generation_create(request: HttpRequest, payload: GenerationJobIn) -> Status:
    params = GenerationParams(
        samples_per_prompt=payload.samples, temperature=payload.temperature, top_p=payload.top_p,
        top_k=payload.top_k, max_new_tokens=payload.max_new_tokens, min_new_tokens=payload.min_new_tokens,
        seed=payload.seed, selection_policy=payload.selection_policy, prompt_limit=payload.limit,
    )  # fmt: skip
    for name, message in params.problems().items():  # the one rule, its field named as the API names it
        raise ApiError(message, field=PARAM_NAMES.get(name, name))
    job = generation_job_create(
        model=payload.model, eval_set=payload.eval_set, params=params, created_by=request.auth,  # type: ignore[attr-defined]
        workers=payload.workers,
    )  # fmt: skip
    return Status(201, job_out(job))


@router.get("/generation-jobs", response=list[JobOut], summary="List generation jobs")
@paginate
def generation_list(request: HttpRequest) -> list[dict[str, Any]]:
    jobs = GenerationJob.objects.select_related("model", "eval_set").order_by("-created")
    return [job_out(job) for job in jobs]


def _generation(job_id: int) -> GenerationJob:
    return get_object_or_404(GenerationJob.objects.select_related("model", "eval_set"), pk=job_id)


@router.get("/generation-jobs/{int:job_id}", response=JobOut, summary="Get a generation job")
def generation_get(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(_generation(job_id))


@router.post("/generation-jobs/{int:job_id}/cancel", response=JobOut, summary="Cancel a generation job")
def generation_cancel(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(generation_job_cancel(job=_generation(job_id)))


@router.post("/generation-jobs/{int:job_id}/retry", response=JobOut, summary="Retry a generation job")
def generation_retry(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(generation_job_retry(job=_generation(job_id)))


@router.get("/generation-jobs/{int:job_id}/samples", summary="Every sample, as export_generations writes")
def generation_samples(request: HttpRequest, job_id: int, with_tokens: bool = False) -> StreamingHttpResponse:
    """One JSON line per sample (streamed): prompt_id, sample_index, text, logprob_sum, num_tokens,
    finish_reason, kept, selected, turn when known; with_tokens adds prompt_token_ids and token_ids."""
    job = _generation(job_id)
    lines = generation_export_lines(job=job, with_tokens=with_tokens)
    return StreamingHttpResponse(lines, content_type="application/x-ndjson")


# ---- finetune ----------------------------------------------------------------------------------
def _finetune(job_id: int) -> FinetuneJob:
    return get_object_or_404(FinetuneJob.objects.select_related("base_model", "output_model"), pk=job_id)


@router.post("/finetune-jobs", response={201: JobOut}, summary="Queue a finetune job")
def finetune_create(request: HttpRequest, payload: FinetuneJobIn) -> Status:
    job = finetune_job_create(
        base=payload.base, mixture_path=payload.mixture_path, name=payload.name,
        hyperparameters=payload.hyperparameters, created_by=request.auth,  # type: ignore[attr-defined]
    )  # fmt: skip
    return Status(201, job_out(job))


@router.get("/finetune-jobs/{int:job_id}", response=JobOut, summary="Get a finetune job")
def finetune_get(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(_finetune(job_id))


@router.post("/finetune-jobs/{int:job_id}/cancel", response=JobOut, summary="Cancel a finetune job")
def finetune_cancel(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(finetune_job_cancel(job=_finetune(job_id)))


@router.post("/finetune-jobs/{int:job_id}/retry", response=JobOut, summary="Retry a finetune job")
def finetune_retry(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(finetune_job_retry(job=_finetune(job_id)))


# ---- judge runs --------------------------------------------------------------------------------
@router.post("/campaigns/{int:campaign_id}/judge-runs", response={201: JobOut}, summary="Queue a judge run")
def judge_create(request: HttpRequest, campaign_id: int, payload: JudgeRunIn) -> Status:
    from annotate.models import Campaign

    campaign = get_object_or_404(Campaign, pk=campaign_id)
    run = judge_run_create(
        campaign=campaign, model=payload.model, chunk_size=payload.chunk_size,
        max_answer_chars=payload.max_answer_chars, created_by=request.auth,  # type: ignore[attr-defined]
    )  # fmt: skip
    return Status(201, job_out(run))


def _run(run_id: int) -> JudgeRun:
    return get_object_or_404(JudgeRun, pk=run_id)


@router.get("/judge-runs/{int:run_id}", response=JobOut, summary="Get a judge run")
def judge_get(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return job_out(_run(run_id))


@router.post("/judge-runs/{int:run_id}/cancel", response=JobOut, summary="Cancel a judge run")
def judge_cancel(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return job_out(judge_run_cancel(run=_run(run_id)))


@router.post("/judge-runs/{int:run_id}/retry", response=JobOut, summary="Retry a judge run")
def judge_retry(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return job_out(judge_run_retry(run=_run(run_id)))
