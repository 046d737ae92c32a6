"""Reads of the generation app: lookups by name, a job's prompts, status, samples and exports.

Torch-free: the web process and the worker both read through here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
    return {
        "id": job.pk,
        "status": job.status,
        "prompts_done": job.prompts_done,
        "prompts_total": job.prompts_total,
        "tokens_generated": job.tokens_generated,
        "tokens_per_second": round(job.tokens_per_second, 1) if job.tokens_per_second else None,
        "heartbeat": job.heartbeat.isoformat() if job.heartbeat else None,
        "engine": job.engine,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
    }


@dataclass
class PromptSamples:
    """One prompt of a job with its samples (in index order) and the threshold stored with them."""

    prompt: Prompt
    samples: list[Sample] = field(default_factory=list)
    threshold: float | None = None
    figure: str = ""  # filled in by the page for the prompts it shows


def generation_job_samples(*, job: GenerationJob) -> list[Sample]:
    """Every sample of a job with the prompt fields the job page shows, in export order."""
    return list(
        Sample.objects.filter(job=job)
        .select_related("prompt")
        .order_by("prompt__position", "prompt_id", "index")
        .only(
            "prompt__uid",
            "prompt__position",
            "prompt__text",
            "prompt__category",
            "prompt__setting",
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


def generation_samples_by_prompt(*, samples: list[Sample]) -> list[PromptSamples]:
    """Samples grouped per prompt, keeping their order; the threshold is the stored one."""
    groups: dict[int, PromptSamples] = {}
    for sample in samples:
        group = groups.get(sample.prompt_id)
        if group is None:
            group = groups[sample.prompt_id] = PromptSamples(prompt=sample.prompt, threshold=sample.threshold)
        group.samples.append(sample)
    return list(groups.values())


# ---- export (contract: export_generations) ------------------------------------------------------
EXPORT_FIELDS = (
    "prompt_id",
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
        .order_by("prompt__position", "prompt_id", "index")
    )
    for s in samples.iterator(chunk_size=500):
        row: dict[str, Any] = {
            "prompt_id": s.prompt.uid,
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
