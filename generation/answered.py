"""Which prompts of an evaluation set each system answered: reads for the campaign form and its build.

A system's answers on a set are the selected samples of its newest finished job there (the rule
campaigns build from). Counts come from grouped queries, never from a loop over prompts, so the
form stays cheap on a set of thousands of prompts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count

from core.models import JobStatus
from eval_sets.models import EvalSet
from generation.models import GenerationJob, ModelSpec, Sample


def newest_done_jobs(
    *, eval_set: EvalSet | None = None, models: Iterable[ModelSpec] | None = None
) -> dict[tuple[int, int], int]:
    """(model pk, eval set pk) -> pk of the newest finished job: the job a campaign takes answers from."""
    jobs = GenerationJob.objects.filter(status=JobStatus.DONE)
    if eval_set is not None:
        jobs = jobs.filter(eval_set=eval_set)
    if models is not None:
        jobs = jobs.filter(model__in=[m.pk for m in models])
    newest: dict[tuple[int, int], int] = {}
    # Newest first, so the first job seen for a (model, set) is the one kept.
    for pk, model_id, eval_set_id in jobs.order_by("-created", "-pk").values_list(
        "pk", "model_id", "eval_set_id"
    ):
        newest.setdefault((model_id, eval_set_id), pk)
    return newest


def newest_done_job(*, model: ModelSpec, eval_set: EvalSet) -> GenerationJob | None:
    pk = newest_done_jobs(eval_set=eval_set, models=[model]).get((model.pk, eval_set.pk))
    return None if pk is None else GenerationJob.objects.get(pk=pk)


@dataclass(frozen=True)
class Coverage:
    """How far a set of systems covers an evaluation set."""

    prompts: int  # the set's size
    answered_by_all: int  # prompts every system has a selected sample for
    per_system: dict[str, int]  # system name -> prompts it answered (0 without a finished job)
    missing_examples: tuple[str, ...] = ()  # ids of the first prompts some system did not answer

    @property
    def complete(self) -> bool:
        return self.answered_by_all == self.prompts

    def describe(self) -> str:
        each = ", ".join(f"{name} {n}" for name, n in self.per_system.items())
        text = f"every chosen system answered {self.answered_by_all} of the set's {self.prompts} prompts ({each})"
        if self.missing_examples:
            more = self.prompts - self.answered_by_all - len(self.missing_examples)
            shown = ", ".join(self.missing_examples) + (f" and {more} more" if more > 0 else "")
            text += f"; not answered by all: {shown}"
        return text


def systems_coverage(*, eval_set: EvalSet, models: Iterable[ModelSpec]) -> Coverage:
    models = list(models)
    jobs = newest_done_jobs(eval_set=eval_set, models=models)
    job_of = {m.pk: jobs.get((m.pk, eval_set.pk)) for m in models}
    selected = Sample.objects.filter(job_id__in=[j for j in job_of.values() if j is not None], selected=True)
    per_job = dict(
        selected.values("job_id").annotate(n=Count("prompt_id", distinct=True)).values_list("job_id", "n")
    )
    if models and all(job_of.values()):
        by_all = (
            selected.values("prompt_id")
            .annotate(n=Count("job_id", distinct=True))
            .filter(n=len(set(job_of.values())))
            .values("prompt_id")
        )
        answered_by_all = by_all.count()
        unanswered = eval_set.prompts.exclude(pk__in=by_all)
    else:
        answered_by_all = 0
        unanswered = eval_set.prompts.all()
    prompts = eval_set.prompts.count()
    examples = (
        ()
        if answered_by_all == prompts
        else tuple(unanswered.order_by("position").values_list("uid", flat=True)[:10])
    )
    return Coverage(
        prompts=prompts,
        answered_by_all=answered_by_all,
        missing_examples=examples,
        per_system={m.name: per_job.get(job_of[m.pk] or 0, 0) for m in models},
    )


@dataclass(frozen=True)
class CoverageRow:
    eval_set: EvalSet
    prompts: int
    answered: list[tuple[str, int]]  # (system name, prompts answered), systems with a finished job


def coverage_table(*, limit: int = 20) -> list[CoverageRow]:
    """Per evaluation set (newest first): its size and how many prompts each system answered on it."""
    sets = list(EvalSet.objects.annotate(n_prompts=Count("prompts")).order_by("-created", "-pk")[:limit])
    jobs = newest_done_jobs()
    wanted = {key: pk for key, pk in jobs.items() if key[1] in {s.pk for s in sets}}
    counts = dict(
        Sample.objects.filter(job_id__in=list(wanted.values()), selected=True)
        .values("job_id")
        .annotate(n=Count("prompt_id", distinct=True))
        .values_list("job_id", "n")
    )
    names = dict(ModelSpec.objects.filter(pk__in={m for m, _ in wanted}).values_list("pk", "name"))
    rows = []
    for s in sets:
        answered = sorted((names[m], counts.get(pk, 0)) for (m, e), pk in wanted.items() if e == s.pk)
        rows.append(CoverageRow(eval_set=s, prompts=s.n_prompts, answered=answered))  # type: ignore[attr-defined]
    return rows
