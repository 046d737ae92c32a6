from typing import Any

from django.core.management.base import CommandParser

from core.job_commands import JobCommand, Progress
from generation.models import GenerationJob, SelectionPolicy
from generation.params import DEFAULTS, GenerationParams
from generation.services import generation_job_create

# The options that are a job's parameters: parameter -> option (the contract keeps `--samples`).
PARAM_OPTIONS = {
    "samples_per_prompt": "samples",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_new_tokens": "max_new_tokens",
    "min_new_tokens": "min_new_tokens",
    "seed": "seed",
    "selection_policy": "selection",
    "prompt_limit": "limit",
    "chunk_size": "chunk_size",
}


class Command(JobCommand):
    help = "Sample responses for every prompt of an evaluation set; prints the job id."
    unit = "prompt"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--eval-set", required=True, help="NAME (newest version) or NAME@vN")
        parser.add_argument("--samples", type=int, default=DEFAULTS.samples_per_prompt, help="per prompt")
        parser.add_argument("--temperature", type=float, default=DEFAULTS.temperature)
        parser.add_argument("--top-p", type=float, default=DEFAULTS.top_p)
        parser.add_argument("--top-k", type=int, default=DEFAULTS.top_k)
        parser.add_argument("--max-new-tokens", type=int, default=DEFAULTS.max_new_tokens)
        parser.add_argument(
            "--min-new-tokens",
            type=int,
            default=DEFAULTS.min_new_tokens,
            help="do not sample EOS before this many tokens",
        )
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
        parser.add_argument("--selection", choices=SelectionPolicy.values, default=DEFAULTS.selection_policy)
        parser.add_argument("--limit", type=int, help="only the first N prompts")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULTS.chunk_size,
            help="prompts per chunk that a worker claims",
        )
        parser.add_argument("--workers", type=int, default=1, help="tasks to enqueue (they share the chunks)")
        super().add_arguments(parser)

    def create(self, options: dict[str, Any], *, enqueue: bool) -> GenerationJob:
        params = GenerationParams(**{name: options[option] for name, option in PARAM_OPTIONS.items()})
        model, eval_set, workers = options["model"], options["eval_set"], options["workers"]
        return generation_job_create(
            model=model, eval_set=eval_set, params=params, workers=workers, enqueue=enqueue
        )

    def run_here(self, job: GenerationJob, progress: Progress) -> GenerationJob:
        # Here, not at the top: loading the command (the web process lists them) stays torch-free.
        from generation.runner import generation_job_run

        return generation_job_run(job_id=job.pk, progress=progress)

    def done_summary(self, job: GenerationJob) -> str:
        rate = f"{job.tokens_per_second:.0f} tokens/s" if job.tokens_per_second else "no tokens"
        return f"{job.prompts_done} prompts, {rate}, engine: {job.engine}"
