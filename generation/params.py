"""A generation job's parameters: their defaults and the rule that checks them, in one place.

Pure (no Django, no torch). The model's field defaults, the job form, the `generate` command, the
service and the engine's SamplingParams take their defaults from DEFAULTS; the service, the form
and the engine check with the rule below, so a refused value reads the same wherever it is typed.
The fields are named as GenerationJob's, which stores them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from generation.selection import POLICIES

# The job page always refused more; a job asked for more from the command is as unlikely to be meant.
MAX_SAMPLES_PER_PROMPT = 64


@dataclass(frozen=True)
class GenerationParams:
    """What a job asks of a model (the paper's setting by default: five samples at temperature 0.7)."""

    samples_per_prompt: int = 5
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    max_new_tokens: int = 256
    # EOS is not sampled before this many tokens (scores still count it).
    min_new_tokens: int = 0
    seed: int = 0
    selection_policy: str = "paper"
    prompt_limit: int | None = None  # only the first N prompts of the set
    chunk_size: int = 32  # prompts per chunk that a worker claims

    def problems(self) -> dict[str, str]:
        """Each refused parameter (by field name) with why, in the order they are checked; {} if none."""
        problems = sampling_problems(**{name: getattr(self, name) for name in SAMPLING_FIELDS})
        if self.samples_per_prompt > MAX_SAMPLES_PER_PROMPT:
            problems.setdefault("samples_per_prompt", f"samples must be at most {MAX_SAMPLES_PER_PROMPT}")
        if self.selection_policy not in POLICIES:
            problems["selection_policy"] = (
                f"unknown selection policy {self.selection_policy!r}: use {' or '.join(POLICIES)}"
            )
        if self.prompt_limit is not None and self.prompt_limit < 1:
            problems["prompt_limit"] = "limit must be at least 1 prompt"
        if self.chunk_size < 1:
            problems["chunk_size"] = "chunk_size must be at least 1"
        return problems

    def job_fields(self) -> dict[str, object]:
        """The job's fields these parameters fill in (GenerationJob has one of each)."""
        return asdict(self)


DEFAULTS = GenerationParams()

# What the sampler itself needs checked (the engine's SamplingParams has these, under its own names).
SAMPLING_FIELDS = ("samples_per_prompt", "temperature", "top_p", "top_k", "max_new_tokens", "min_new_tokens")


def sampling_problems(
    *,
    samples_per_prompt: int,
    temperature: float,
    top_p: float,
    top_k: int,
    max_new_tokens: int,
    min_new_tokens: int,
) -> dict[str, str]:
    """The sampling part of the rule: each refused value by field name, with why."""
    problems: dict[str, str] = {}
    if samples_per_prompt < 1:
        problems["samples_per_prompt"] = "samples must be at least 1"
    if not temperature > 0:
        problems["temperature"] = (
            "temperature must be greater than 0 (use a small value for near-greedy output)"
        )
    if not 0 < top_p <= 1:
        problems["top_p"] = "top_p must be in (0, 1]"
    if top_k < 0:
        problems["top_k"] = "top_k must be 0 (off) or positive"
    if max_new_tokens < 1:
        problems["max_new_tokens"] = "max_new_tokens must be at least 1"
    if not 0 <= min_new_tokens <= max_new_tokens:
        problems["min_new_tokens"] = "min_new_tokens must be between 0 and max_new_tokens"
    return problems
