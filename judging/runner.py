"""The worker half of judging: runs a judge over a run's chunks in both orders, stores the verdicts.

The only importer of judging.verdict_model (and so torch), and only when a run needs a model. The
claim loop, cancel, failure and finish are core's chunked-job skeleton (core/chunked_run.py), like
generation's, so runs resume after a crash (a comparison with a stored verdict is skipped; the
unique constraint is the backstop) and several workers can share a run. Cancellation is checked
between batches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotate.models import Comparison
from core.chunked_run import chunked_job_run, job_cancel_requested
from core.model_loading import ModelCache
from generation.models import ModelSpec
from judging.models import JudgeChunk, JudgeRun, Verdict
from judging.prompt import combine_orders, judge_conversation_prompt, judge_prompt
from judging.selectors import judgeable_comparisons

if TYPE_CHECKING:
    from judging.verdict_model import VerdictModel

_MODELS: ModelCache[VerdictModel] = ModelCache()


def verdict_model_for(spec: ModelSpec) -> VerdictModel:
    """The worker's loaded judge for `spec` (loaded now if it is another one)."""
    from judging.verdict_model import VerdictModel

    batch_size = getattr(settings, "JUDGE_BATCH_SIZE", 8)
    return _MODELS.get(spec, functools.partial(VerdictModel.load, batch_size=batch_size))


class _JudgeWork:
    """One worker's share of a run: the campaign's comparisons, the judge once needed."""

    def __init__(self, run: JudgeRun, progress: Callable[[int], None] | None) -> None:
        self.run, self.progress = run, progress
        self.items: list[Comparison] = list(judgeable_comparisons(campaign=run.campaign))
        self.judge: VerdictModel | None = None

    def finished_among(self, items: Sequence[Comparison]) -> set[int]:
        return set(
            Verdict.objects.filter(run=self.run, comparison__in=items).values_list("comparison_id", flat=True)
        )

    def run_items(self, chunk: JudgeChunk, items: list[Comparison]) -> bool:
        assert self.run.judge is not None
        judge = self.judge = self.judge or verdict_model_for(self.run.judge)
        step = max(1, judge.batch_size // 2)  # each comparison is two prompts, one per order
        for start in range(0, len(items), step):
            if job_cancel_requested(job=self.run):
                return False
            stored = _batch_judge(self.run, chunk, judge, items[start : start + step])
            if self.progress is not None and stored:
                self.progress(stored)
        JudgeRun.objects.filter(pk=self.run.pk).update(engine=f"in-process {judge.kind}"[:64])
        return True

    def done_fields(self) -> dict[str, Any]:
        return {"items_done": Verdict.objects.filter(run=self.run).count()}


def judge_run_execute(
    *, run_id: int, worker: str | None = None, progress: Callable[[int], None] | None = None
) -> JudgeRun:
    """Work on a run until no chunk is left; failures are recorded on the run and its chunk released.

    `progress(n)` is told each time n verdicts were stored.
    """
    run = JudgeRun.objects.select_related("judge", "campaign").get(pk=run_id)
    return chunked_job_run(job=run, start=lambda: _JudgeWork(run, progress), worker=worker)


def _prompt_of(run: JudgeRun, c: Comparison, a_first: bool) -> str:
    """The judge's prompt for one order; a conversation's later turn shows each side's whole conversation."""
    texts = c.texts
    if c.turn > 1:
        side_a = [*texts.history_a, texts.text_a]
        side_b = [*texts.history_b, texts.text_b]
        first, second = (side_a, side_b) if a_first else (side_b, side_a)
        return judge_conversation_prompt(
            user_turns=c.prompt.user_turns[: c.turn],
            first=first,
            second=second,
            max_answer_chars=run.max_answer_chars,
        )
    one, two = (texts.text_a, texts.text_b) if a_first else (texts.text_b, texts.text_a)
    return judge_prompt(
        instruction=c.prompt.text, first=one, second=two, max_answer_chars=run.max_answer_chars
    )


def _batch_judge(run: JudgeRun, chunk: JudgeChunk, judge: VerdictModel, batch: list[Comparison]) -> int:
    """Judge a batch in both orders and store each verdict; how many were stored (not there yet)."""
    prompts = [
        _prompt_of(run, c, a_first)
        for c in batch
        # A's answer first, then B's: the two orders whose mean cancels the judge's position bias.
        for a_first in (True, False)
    ]
    probs = judge.verdict_probabilities(prompts)
    stored = 0
    for i, c in enumerate(batch):
        v = combine_orders(a_first=probs[2 * i], b_first=probs[2 * i + 1])
        now = timezone.now()
        try:
            with transaction.atomic():
                Verdict.objects.create(
                    run=run,
                    comparison=c,
                    p_a=v.p_a,
                    p_tie=v.p_tie,
                    p_b=v.p_b,
                    p_a_ab=v.ab[0],
                    p_tie_ab=v.ab[1],
                    p_b_ab=v.ab[2],
                    p_a_ba=v.ba[0],
                    p_tie_ba=v.ba[1],
                    p_b_ba=v.ba[2],
                    consistent=v.consistent,
                )
                JudgeRun.objects.filter(pk=run.pk).update(items_done=F("items_done") + 1, heartbeat=now)
                JudgeChunk.objects.filter(pk=chunk.pk).update(heartbeat=now)
        except IntegrityError:
            continue  # another worker stored this comparison's verdict first
        stored += 1
    return stored
