"""The worker half of generation: runs a job's chunks through a backend and commits the samples.

The place that picks a backend (`backend_for`): the in-process engine for a model it loads, or the
served-model client (generation/served.py, no torch) for a model served elsewhere (vLLM). The only
module of the app that imports `generation.engine` (and so torch); it does so when a job actually
needs a loaded model, so importing this module stays cheap. Tasks and `generate --wait` call
`generation_job_run`; the web process never imports this module.

The claim loop, cancel, failure and finish are core's chunked-job skeleton (core/chunked_run.py),
so any number of workers can run the same job side by side. Each prompt's k samples are written
in ONE transaction together with the selection and the progress counters; a prompt that already
has samples is skipped, so a re-run after a crash resumes and never duplicates (the unique
constraint on (job, prompt, turn, index) is the backstop).

A conversation is generated turn by turn, in rounds over the chunk: turn t of every prompt that
has one, each from the conversation so far (the user's turns and the job's own selected answers
to the earlier turns), committed per (prompt, turn). A run stopped between turns resumes at the
first turn without samples; a prompt counts as done when its last turn is committed.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.chunked_run import chunked_job_run
from core.model_loading import ModelCache
from eval_sets.models import Prompt
from generation.errors import GenerationError
from generation.models import GenerationChunk, GenerationJob, ModelSpec, Sample, storable_text
from generation.selection import Selection, select_response
from generation.selectors import generation_job_prompts

if TYPE_CHECKING:
    from generation.engine import Engine
    from generation.sample_types import PromptResult
    from generation.served import ServedClient

CANCEL_CHECK_SECONDS = 2.0

_ENGINES: ModelCache[Engine] = ModelCache()


def engine_for(spec: ModelSpec) -> Engine:
    """The worker's loaded model for `spec` (loaded now if it is another one)."""
    from generation.engine import Engine

    batch_size = getattr(settings, "GENERATION_BATCH_SIZE", None)
    return _ENGINES.get(spec, functools.partial(Engine.load, batch_size=batch_size))


def backend_for(spec: ModelSpec, *, require_logprobs: bool = True) -> Engine | ServedClient:
    """The engine for a model this worker loads, or a client for a model served elsewhere.

    The operator's rules are applied again here, on the worker, whatever was accepted at
    registration: settings may have changed since, and a row may have been written by other means.
    """
    if not spec.is_served:
        return engine_for(spec)
    from generation.served import ServedClient, ServedEndpoint
    from generation.served_policy import HostAllowList, ServedPolicyError, api_key_env_check

    try:
        allowed = HostAllowList.parse(settings.SERVED_ALLOWED_HOSTS)
        api_key = None
        if spec.api_key_env:
            api_key_env_check(
                name=spec.api_key_env,
                patterns=settings.SERVED_API_KEY_VARS,
                platform=settings.PLATFORM_ENV_VARS,
            )
            api_key = os.environ.get(spec.api_key_env)
            if not api_key:  # said only of a variable the operator allows
                raise GenerationError(
                    f"model {spec.name!r} reads its API key from ${spec.api_key_env}, "
                    "which is not set on this worker"
                )
    except ServedPolicyError as exc:
        raise GenerationError(f"model {spec.name!r}: {exc}") from None
    endpoint = ServedEndpoint(
        base_url=spec.base_url, served_model=spec.served_model, chat=spec.chat, api_key=api_key
    )
    return ServedClient(
        endpoint,
        allowed=allowed,
        concurrency=settings.GENERATION_SERVED_CONCURRENCY,
        timeout=float(settings.GENERATION_SERVED_TIMEOUT),
        max_response_chars=settings.MAX_RESPONSE_CHARS,
        require_logprobs=require_logprobs,
    )


def _selection(job: GenerationJob, scores: list[float | None]) -> Selection:
    """The job's rule; without scores (a server that returns none) only policy "none" applies."""
    if all(s is not None for s in scores):
        return select_response([float(s) for s in scores if s is not None], job.selection_policy)
    if job.selection_policy != "none":
        from generation.served import NO_LOGPROBS

        raise GenerationError(NO_LOGPROBS)
    # No score to rank by: every sample is kept and the first one answers.
    return Selection(index=0 if scores else None, kept=tuple(range(len(scores))), threshold=None)


def _prompt_commit(
    *,
    job: GenerationJob,
    prompt: Prompt,
    result: PromptResult,
    run_stats: dict[str, float],
    turn: int = 1,
) -> bool:
    """Store one prompt's (turn's) samples with the selection applied; False if they were already there."""
    selection = _selection(job, [s.logprob_sum for s in result.samples])
    kept = set(selection.kept)
    tokens = sum(s.num_tokens for s in result.samples)
    now = timezone.now()
    try:
        with transaction.atomic():
            if Sample.objects.filter(job=job, prompt=prompt, turn=turn).exists():
                return False
            Sample.objects.bulk_create(
                Sample(
                    job=job,
                    prompt=prompt,
                    turn=turn,
                    index=i,
                    text=storable_text(s.text),
                    prompt_token_ids=result.prompt_token_ids,
                    token_ids=s.token_ids,
                    logprob_sum=s.logprob_sum,
                    num_tokens=s.num_tokens,
                    finish_reason=s.finish_reason,
                    kept=i in kept,
                    selected=i == selection.index,
                    threshold=selection.threshold,
                )
                for i, s in enumerate(result.samples)
            )
            run_stats["tokens"] += tokens
            elapsed = time.perf_counter() - run_stats["t0"]
            GenerationJob.objects.filter(pk=job.pk).update(
                # A conversation is done when its last turn is.
                prompts_done=F("prompts_done") + int(turn == prompt.turn_count),
                tokens_generated=F("tokens_generated") + tokens,
                tokens_per_second=run_stats["tokens"] / elapsed if elapsed > 0 else None,
                heartbeat=now,
            )
            GenerationChunk.objects.filter(pk=int(run_stats["chunk_id"])).update(heartbeat=now)
    except IntegrityError:
        # Another worker committed the same prompt between our check and our insert.
        return False
    return True


class _GenerationWork:
    """One worker's share of a job: its prompts, the sampling parameters, the backend once needed."""

    def __init__(self, job: GenerationJob, progress: Callable[[int], None] | None) -> None:
        from generation.sample_types import SamplingParams

        self.job, self.progress = job, progress
        self.items: list[Prompt] = generation_job_prompts(job=job)
        self.params = SamplingParams(
            samples=job.samples_per_prompt,
            temperature=job.temperature,
            top_p=job.top_p,
            top_k=job.top_k,
            max_new_tokens=job.max_new_tokens,
            min_new_tokens=job.min_new_tokens,
            seed=job.seed,
        )
        self.run_stats: dict[str, float] = {"tokens": 0.0, "t0": time.perf_counter(), "chunk_id": 0}
        self.backend: Engine | ServedClient | None = None
        self._checked, self._stop = 0.0, False

    def should_stop(self) -> bool:
        """The cancel flag, read at most every CANCEL_CHECK_SECONDS (the backend asks between batches)."""
        if time.perf_counter() - self._checked > CANCEL_CHECK_SECONDS:
            self._checked = time.perf_counter()
            self._stop = bool(
                GenerationJob.objects.filter(pk=self.job.pk)
                .values_list("cancel_requested", flat=True)
                .first()
            )
            # Between batches is also when a worker shows it is alive.
            now = timezone.now()
            GenerationJob.objects.filter(pk=self.job.pk).update(heartbeat=now)
            GenerationChunk.objects.filter(pk=int(self.run_stats["chunk_id"])).update(heartbeat=now)
        return self._stop

    def _template_record(self) -> None:
        """Say on the job how its conversations reach the model: the chat template, or the plain one."""
        from generation.sample_types import plain_template_description

        spec = self.job.model
        chat = spec.chat if spec.is_served else spec.chat_template
        template = "the model's chat template (messages)" if chat else plain_template_description()
        self.job.conversation_template = template
        GenerationJob.objects.filter(pk=self.job.pk).update(conversation_template=template)

    def _turns_done(self, items: Sequence[Prompt]) -> dict[int, set[int]]:
        rows = Sample.objects.filter(job=self.job, prompt__in=items).values_list("prompt_id", "turn")
        done: dict[int, set[int]] = {}
        for prompt_id, turn in rows.distinct():
            done.setdefault(prompt_id, set()).add(turn)
        return done

    def finished_among(self, items: Sequence[Prompt]) -> set[int]:
        done = self._turns_done(items)
        return {p.pk for p in items if p.turn_count in done.get(p.pk, set())}

    def _turn_requests(self, items: Sequence[Prompt], turn: int) -> tuple[list[Any], dict[str, Prompt]]:
        """Turn `turn` of each prompt that has it and lacks it, after the job's selected earlier answers."""
        from generation.sample_types import PromptRequest

        done = self._turns_done(items)
        answers: dict[tuple[int, int], str] = {}
        if turn > 1:
            rows = Sample.objects.filter(job=self.job, prompt__in=items, turn__lt=turn, selected=True)
            answers = {(pid, t): text for pid, t, text in rows.values_list("prompt_id", "turn", "text")}
        requests, todo = [], {}
        for p in items:
            if p.turn_count < turn or turn in done.get(p.pk, set()):
                continue
            if any((p.pk, t) not in answers for t in range(1, turn)):
                continue  # an earlier turn is not there to continue from (it comes first)
            # Keyed (and so seeded) by the prompt's id from its source file, not its database row:
            # the same set imported into another database samples the same answers.
            key = p.uid if turn == 1 else f"{p.uid}#turn{turn}"
            history = tuple((p.turns[t - 1], answers[(p.pk, t)]) for t in range(1, turn)) if p.turns else None
            todo[key] = p
            requests.append(
                PromptRequest(
                    key=key,
                    text=p.user_turns[turn - 1],
                    stop=tuple(str(s) for s in (p.stop or [])),
                    history=history,
                )
            )
        return requests, todo

    def run_items(self, chunk: GenerationChunk, items: list[Prompt]) -> bool:
        self.run_stats["chunk_id"] = chunk.pk
        # The skeleton read the flag just before claiming the chunk.
        self._checked, self._stop = time.perf_counter(), False
        if self.backend is None:
            self.backend = backend_for(self.job.model, require_logprobs=self.job.selection_policy != "none")
        if any(p.turns for p in items) and not self.job.conversation_template:
            self._template_record()
        for turn in range(1, max((p.turn_count for p in items), default=1) + 1):
            if turn > 1 and self.should_stop():
                return False
            requests, todo = self._turn_requests(items, turn)
            if not requests:
                continue

            def on_result(result: PromptResult, todo: dict[str, Prompt] = todo, turn: int = turn) -> None:
                committed = _prompt_commit(
                    job=self.job, prompt=todo[result.key], result=result, run_stats=self.run_stats, turn=turn
                )
                if committed and turn == todo[result.key].turn_count and self.progress is not None:
                    self.progress(1)

            self.backend.generate(requests, self.params, on_result=on_result, should_stop=self.should_stop)
        GenerationJob.objects.filter(pk=self.job.pk).update(engine=self.backend.last_path[:64])
        return not self.should_stop()

    def done_fields(self) -> dict[str, Any]:
        return {"prompts_done": len(self.finished_among(self.items))}


def generation_job_run(
    *,
    job_id: int,
    worker: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationJob:
    """Work on a job until no chunk is left to claim; safe to run from several workers at once.

    Failures are recorded on the job (status failed, `error`) and the claimed chunk is released
    so a retry resumes it. `progress(n)` is told each time n prompts were committed.
    """
    job = GenerationJob.objects.select_related("model", "eval_set").get(pk=job_id)
    return chunked_job_run(job=job, start=lambda: _GenerationWork(job, progress), worker=worker)
