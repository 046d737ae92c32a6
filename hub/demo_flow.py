"""The whole study on the embedded default, at toy scale: what `make demo` runs before serving.

Each step drives the command a user would run (`import_eval_set`, `pretrain_base`, `finetune`,
`generate`, `create_campaign`). Each looks for what an earlier run made and reuses it, so a second
`make demo` starts in seconds; a step that was interrupted resumes through the worker's runner
(finetuning from its last checkpoint, generation from its last committed prompt). torch is reached
only through those commands and runners.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from io import TextIOBase
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command

from annotate.models import Campaign
from core.models import JobStatus
from eval_sets.selectors import eval_set_resolve
from finetune.mixture import DEMO_MIXTURE
from finetune.models import FinetuneJob
from generation.models import GenerationJob, ModelSpec
from generation.params import DEFAULTS

BASE_NAME = "demo-base"
FLAN_NAME = "demo-flan"
EVAL_SET = "usability-190"
CAMPAIGN = "demo-base-vs-flan"
CORPUS = Path(__file__).resolve().parent / "data" / "demo_corpus.txt"
CORPUS_NAME = "hub/data/demo_corpus.txt"
EVAL_SET_FILE = Path(settings.BASE_DIR) / "eval_sets" / "data" / "usability-190.jsonl"


@dataclass(frozen=True)
class DemoScale:
    """How big the toy study is; the defaults fit `make demo` in a few minutes on 2 cores."""

    pretrain_steps: int = 300
    finetune_steps: int = 300
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    seq_len: int = 512
    max_new_tokens: int = 48
    # The tiny finetuned model often ends at once (its training targets are short); a floor
    # keeps the demo's answers from being empty. Scores still include EOS's raw probability.
    min_new_tokens: int = 12
    prompts: int | None = None  # None: the whole set


def _say(out: TextIOBase, text: str) -> None:
    out.write(text + "\n")
    out.flush()


def demo_base_ensure(*, scale: DemoScale, out: TextIOBase) -> None:
    """A tiny byte-level Llama, briefly pretrained on the prose the project ships, as a user would make it."""
    if ModelSpec.objects.filter(name=BASE_NAME).exists():
        _say(out, f"[2/5] base model {BASE_NAME}: already built")
        return
    _say(out, f"[2/5] pretraining the tiny base model {BASE_NAME}")
    call_command(
        "pretrain_base",
        BASE_NAME,
        corpus=str(CORPUS),
        steps=scale.pretrain_steps,
        seq_len=scale.seq_len,
        hidden=scale.hidden,
        layers=scale.layers,
        heads=scale.heads,
        description=f"Tiny byte-level Llama pretrained briefly on {CORPUS_NAME} (demo only).",
        stdout=out,
    )


def demo_finetune_ensure(*, scale: DemoScale, out: TextIOBase) -> None:
    if ModelSpec.objects.filter(name=FLAN_NAME).exists():
        _say(out, f"[2/5] finetuned model {FLAN_NAME}: already trained")
        return
    unfinished = FinetuneJob.objects.filter(name=FLAN_NAME).exclude(status=JobStatus.DONE).first()
    if unfinished is not None:
        # The `finetune` command always starts a new job; the runner resumes one from its checkpoint.
        from finetune.runner import finetune_job_run

        _say(out, f"[2/5] resuming finetune job {unfinished.pk} from its last checkpoint")
        finetune_job_run(job_id=unfinished.pk)
        return
    _say(out, f"[2/5] finetuning {BASE_NAME} into {FLAN_NAME} on the demo mixture")
    printed = io.StringIO()
    call_command(
        "finetune",
        base=BASE_NAME,
        mixture=str(DEMO_MIXTURE),
        name=FLAN_NAME,
        steps=scale.finetune_steps,
        seq_len=scale.seq_len,
        wait=True,
        stdout=printed,
    )
    # The command's line starts with the bare job id; say what the number is.
    _say(out, f"      finetune job {printed.getvalue().strip()}")


def demo_generation_ensure(*, model: str, scale: DemoScale, out: TextIOBase) -> None:
    eval_set = eval_set_resolve(spec=EVAL_SET)
    jobs = GenerationJob.objects.filter(model__name=model, eval_set=eval_set).order_by("-created")
    if jobs.filter(status=JobStatus.DONE).exists():
        _say(out, f"[3/5] samples of {model}: already generated")
        return
    unfinished = jobs.exclude(status=JobStatus.CANCELLED).first()
    if unfinished is not None:
        # The `generate` command always starts a new job; the runner resumes one at its last prompt.
        from generation.runner import generation_job_run

        _say(out, f"[3/5] resuming generation job {unfinished.pk} of {model}")
        generation_job_run(job_id=unfinished.pk)
        return
    options: dict[str, Any] = {
        "model": model,
        "eval_set": EVAL_SET,
        "max_new_tokens": scale.max_new_tokens,
        "min_new_tokens": scale.min_new_tokens,
    }
    if scale.prompts is not None:
        options["limit"] = scale.prompts
    _say(out, f"[3/5] sampling {DEFAULTS.samples_per_prompt} responses per prompt from {model}")
    printed = io.StringIO()
    call_command("generate", wait=True, stdout=printed, **options)
    # `generate` prints the bare job id (scripts read it); a newcomer needs to be told what it is.
    job_id = printed.getvalue().split()[0] if printed.getvalue().split() else "?"
    _say(out, f"      generation job {job_id}: {model} on {EVAL_SET} (its page: /generation/jobs/{job_id}/)")


def demo_campaign_ensure(*, rater: str, out: TextIOBase) -> None:
    if Campaign.objects.filter(name=CAMPAIGN).exists():
        _say(out, f"[4/5] campaign {CAMPAIGN}: already built")
        return
    _say(out, f"[4/5] building the blind campaign {CAMPAIGN} and opening it to {rater}")
    call_command(
        "create_campaign",
        CAMPAIGN,
        eval_set=EVAL_SET,
        systems=[BASE_NAME, FLAN_NAME],
        raters=rater,
        title="Demo: which answer is better?",
        # No seed: a fixed public one would let anyone replay the sides (issue 14, finding 4).
        open=True,
        answered_only=True,
        stdout=out,
    )


def demo_flow_run(*, scale: DemoScale, rater: str, out: TextIOBase) -> None:
    from transformers.utils import logging as hf_logging

    # Loading and saving tiny models takes milliseconds; their own progress bars are noise here.
    hf_logging.disable_progress_bar()
    _say(out, f"[1/5] importing the {EVAL_SET} evaluation set")
    call_command("import_eval_set", str(EVAL_SET_FILE), name=EVAL_SET, stdout=out)
    demo_base_ensure(scale=scale, out=out)
    demo_finetune_ensure(scale=scale, out=out)
    for model in (BASE_NAME, FLAN_NAME):
        demo_generation_ensure(model=model, scale=scale, out=out)
    demo_campaign_ensure(rater=rater, out=out)
