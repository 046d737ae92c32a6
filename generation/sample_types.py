"""What a generation backend is asked and what it hands back (torch-free).

Both backends use these: the in-process engine (generation/engine.py) and the served-model client
(generation/served.py). `GeneratedSample.logprob_sum` is None only when a served model returned no
log-probabilities (some commercial APIs); the runner then allows no score-based selection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingParams:
    samples: int = 5
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    seed: int = 0
    # EOS is taken out of the sampling distribution for the first min_new_tokens tokens
    # (as transformers' min_new_tokens does); scores still come from the raw logits.
    min_new_tokens: int = 0

    def check(self) -> None:
        if self.samples < 1:
            raise ValueError("samples must be at least 1")
        if not self.temperature > 0:
            raise ValueError("temperature must be greater than 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be 0 (off) or positive")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError("min_new_tokens must be between 0 and max_new_tokens")


@dataclass(frozen=True)
class PromptRequest:
    key: str  # stable id used to seed batches and to hand results back
    text: str
    stop: tuple[str, ...] = ()


@dataclass
class GeneratedSample:
    text: str
    token_ids: list[int]
    logprob_sum: float | None
    finish_reason: str  # "eos" | "stop" | "length"

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


@dataclass
class PromptResult:
    key: str
    prompt_token_ids: list[int]
    samples: list[GeneratedSample] = field(default_factory=list)


def batch_seed(seed: int, keys: Sequence[str]) -> int:
    """The seed of one batch's generator: fixed by the job seed and the prompts in the batch."""
    digest = hashlib.sha256(("\x1f".join([str(seed), *keys])).encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF
