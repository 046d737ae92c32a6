"""Reads of the generation app: lookups by name, a job's prompts, status, samples and exports.

Torch-free: the web process and the worker both read through here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from core.jobs import job_status_payload
from eval_sets.models import EvalSet, Prompt
from eval_sets.selectors import eval_set_resolve
from generation.errors import GenerationError
from generation.models import GenerationJob, ModelSpec, Sample


def model_spec_resolve(*, model: ModelSpec | str) -> ModelSpec:
    """The model itself, or the one registered under that name."""
    if isinstance(model, ModelSpec):
        return model
    found = ModelSpec.objects.filter(name=model).first()
    if found is None:
        known = ", ".join(ModelSpec.objects.values_list("name", flat=True)) or "none yet"
        raise GenerationError(f"no model named {model!r} (registered: {known})")
    return found


def generation_eval_set_resolve(*, eval_set: EvalSet | str) -> EvalSet:
    """The set itself, or the one a `NAME` / `NAME@vN` spec names; GenerationError otherwise."""
    if isinstance(eval_set, EvalSet):
        return eval_set
    try:
        return eval_set_resolve(spec=eval_set)
    except ValueError as exc:
        raise GenerationError(str(exc)) from None


def generation_job_prompts(*, job: GenerationJob) -> list[Prompt]:
    """The prompts a job runs, in the order its chunks slice them (position, then id)."""
    prompts = job.eval_set.prompts.order_by("position", "pk")
    if job.prompt_limit is not None:
        prompts = prompts[: job.prompt_limit]
    return list(prompts)


def generation_job_status(*, job: GenerationJob) -> dict[str, Any]:
    """The JSON the job page's progress bar polls (core's payload with the token counts)."""
    return job_status_payload(
        job=job,
        done=job.prompts_done,
        total=job.prompts_total,
        tokens_generated=job.tokens_generated,
        tokens_per_second=round(job.tokens_per_second, 1) if job.tokens_per_second else None,
        heartbeat=job.heartbeat.isoformat() if job.heartbeat else None,
        engine=job.engine,
    )


@dataclass
class PromptSamples:
    """One prompt of a job with its samples (in index order) and the threshold stored with them."""

    prompt: Prompt
    samples: list[Sample] = field(default_factory=list)
    threshold: float | None = None


def generation_job_prompt_rows(*, job: GenerationJob) -> QuerySet[Prompt]:
    """The prompts of a job that have samples, in export order, each with `has_filtered`.

    `has_filtered`: the selection rule dropped at least one of its samples (some `kept` is false).
    A queryset, so the page filters and paginates it in the database instead of loading every sample.
    """
    of_job = Sample.objects.filter(job=job)
    return (
        Prompt.objects.filter(pk__in=of_job.values("prompt_id"))
        .annotate(has_filtered=Exists(of_job.filter(prompt=OuterRef("pk"), kept=False)))
        .only("uid", "position", "text", "category", "setting")
        .order_by("position", "pk")
    )


def generation_job_categories(*, job: GenerationJob) -> list[str]:
    """The distinct categories among a job's prompts, sorted (the page's category choices)."""
    rows = Sample.objects.filter(job=job).order_by().values_list("prompt__category", flat=True).distinct()
    return sorted(rows)


def generation_job_scores(*, job: GenerationJob) -> list[tuple[float | None, bool]]:
    """(logprob_sum, kept) of every sample of a job: what the overview histogram and counts need."""
    return list(Sample.objects.filter(job=job).order_by().values_list("logprob_sum", "kept"))


def generation_samples_by_prompt(*, job: GenerationJob, prompts: Sequence[Prompt]) -> list[PromptSamples]:
    """The samples of `prompts` in this job, grouped per prompt in the prompts' order (one query).

    The threshold is the one stored with the samples.
    """
    groups = {prompt.pk: PromptSamples(prompt=prompt) for prompt in prompts}
    samples = (
        Sample.objects.filter(job=job, prompt_id__in=list(groups))
        .order_by("prompt_id", "index")
        .only(
            "prompt_id",
            "index",
            "text",
            "logprob_sum",
            "num_tokens",
            "finish_reason",
            "kept",
            "selected",
            "threshold",
            "job_id",
        )
    )
    for sample in samples:
        group = groups[sample.prompt_id]
        if not group.samples:
            group.threshold = sample.threshold
        sample.prompt = group.prompt  # no query per sample when the template reaches the prompt
        group.samples.append(sample)
    return list(groups.values())


# ---- export (contract: export_generations) ------------------------------------------------------
EXPORT_FIELDS = (
    "prompt_id",
    "turn",
    "sample_index",
    "text",
    "logprob_sum",
    "num_tokens",
    "finish_reason",
    "kept",
    "selected",
)


def generation_export_rows(*, job: GenerationJob, with_tokens: bool = False) -> Iterator[dict[str, Any]]:
    samples = (
        Sample.objects.filter(job=job)
        .select_related("prompt")
        .order_by("prompt__position", "prompt_id", "turn", "index")
    )
    for s in samples.iterator(chunk_size=500):
        row: dict[str, Any] = {
            "prompt_id": s.prompt.uid,
            "turn": s.turn,
            "sample_index": s.index,
            "text": s.text,
            "logprob_sum": s.logprob_sum,
            "num_tokens": s.num_tokens,
            "finish_reason": s.finish_reason,
            "kept": s.kept,
            "selected": s.selected,
        }
        if with_tokens:
            row["prompt_token_ids"] = s.prompt_token_ids
            row["token_ids"] = s.token_ids
        yield row


def generation_export_lines(*, job: GenerationJob, with_tokens: bool = False) -> Iterator[str]:
    for row in generation_export_rows(job=job, with_tokens=with_tokens):
        yield json.dumps(row, ensure_ascii=False) + "\n"
