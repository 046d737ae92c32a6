"""What the sampler is asked and what it hands back, and the per-step pieces of its decode loop.

Imports torch (the logit filter): reached only from the worker half (runner, engine), tests and
benchmarks. The engine (generation/engine.py) drives these; the KV cache lives in kv_cache.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch


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
    logprob_sum: float
    finish_reason: str  # "eos" | "stop" | "length"

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


@dataclass
class PromptResult:
    key: str
    prompt_token_ids: list[int]
    samples: list[GeneratedSample] = field(default_factory=list)


Decode = Callable[[Sequence[int]], str]


class RowTracker:
    """Token bookkeeping for one sample row; decides when it ends."""

    __slots__ = ("finish", "logprob", "stop", "text", "tokens", "window")

    def __init__(self, stop: tuple[str, ...]) -> None:
        self.stop = tuple(s for s in stop if s)
        self.tokens: list[int] = []
        self.logprob = 0.0
        self.finish: str | None = None
        self.text: str | None = None
        self.window = 4 * max((len(s) for s in self.stop), default=0) + 4  # tokens decoded per check

    def stop_hit(self, decode: Decode) -> bool:
        """Did the newest token complete a stop string? Decodes only a tail window per step.

        A stop string of n characters spans at most 4n byte-level tokens (UTF-8), so a window of
        4n + 4 tokens always holds one that the newest token completed; the full text is decoded
        only once, when a stop string is found, to cut it at the first occurrence.
        """
        if not self.stop:
            return False
        tail = decode(self.tokens[-self.window :])
        if not any(s in tail for s in self.stop):
            return False
        text = decode(self.tokens)
        found = [pos for s in self.stop if (pos := text.find(s)) != -1]
        if not found:  # the tail decoded differently from the whole (rare tokenizer quirk)
            return False
        self.text = text[: min(found)]
        return True

    def sample(self, decode: Decode) -> GeneratedSample:
        text = self.text if self.finish == "stop" and self.text is not None else decode(self.tokens)
        return GeneratedSample(
            text=text,
            token_ids=list(self.tokens),
            logprob_sum=float(self.logprob),
            finish_reason=self.finish or "length",
        )


def filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Mask logits outside top-k / top-p with -inf (same semantics as transformers' warpers)."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=False, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cumulative <= (1 - top_p)
        remove_sorted[..., -1:] = False  # always keep the most likely token
        remove = remove_sorted.scatter(-1, sorted_idx, remove_sorted)
        logits = logits.masked_fill(remove, float("-inf"))
    return logits


def batch_seed(seed: int, keys: Sequence[str]) -> int:
    """The seed of one batch's generator: fixed by the job seed and the prompts in the batch."""
    digest = hashlib.sha256(("\x1f".join([str(seed), *keys])).encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF
