"""What the sampler is asked and what it hands back, and the per-step pieces of its decode loop.

Imports torch (the logit filter): reached only from the worker half (runner, engine), tests and
benchmarks. The engine (generation/engine.py) drives these; the KV cache lives in kv_cache.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

# The request/result types are torch-free (the served-model client uses them too); re-exported here.
from generation.sample_types import (
    GeneratedSample,
    PromptRequest,
    PromptResult,
    SamplingParams,
    batch_seed,
)

__all__ = [
    "GeneratedSample",
    "PromptRequest",
    "PromptResult",
    "RowTracker",
    "SamplingParams",
    "batch_seed",
    "filter_logits",
]


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
