"""What a generation backend is asked and what it hands back (torch-free).

Both backends use these: the in-process engine (generation/engine.py) and the served-model client
(generation/served.py). `GeneratedSample.logprob_sum` is None only when a served model returned no
log-probabilities (some commercial APIs); the runner then allows no score-based selection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from generation.params import DEFAULTS, sampling_problems


@dataclass(frozen=True)
class SamplingParams:
    samples: int = DEFAULTS.samples_per_prompt
    temperature: float = DEFAULTS.temperature
    top_p: float = DEFAULTS.top_p
    top_k: int = DEFAULTS.top_k
    max_new_tokens: int = DEFAULTS.max_new_tokens
    seed: int = DEFAULTS.seed
    # EOS is taken out of the sampling distribution for the first min_new_tokens tokens
    # (as transformers' min_new_tokens does); scores still come from the raw logits.
    min_new_tokens: int = DEFAULTS.min_new_tokens

    def check(self) -> None:
        """ValueError with the first refused value's reason (the rule jobs are checked with)."""
        problems = sampling_problems(
            samples_per_prompt=self.samples,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            max_new_tokens=self.max_new_tokens,
            min_new_tokens=self.min_new_tokens,
        )
        if problems:
            raise ValueError(next(iter(problems.values())))


@dataclass(frozen=True)
class PromptRequest:
    key: str  # stable id used to seed batches and to hand results back
    text: str
    stop: tuple[str, ...] = ()
    # A conversation's turns before this one: (user message, the model's own selected answer).
    # None: a single-turn prompt, sent as its bare text without a chat template (as always).
    history: tuple[tuple[str, str], ...] | None = None

    def messages(self) -> list[dict[str, str]]:
        """The chat messages up to this turn's user message."""
        out: list[dict[str, str]] = []
        for user, answer in self.history or ():
            out += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        return [*out, {"role": "user", "content": self.text}]


# For a model without a chat template, a conversation is written out in this plain form (the job
# records it, and the job page shows it). Turn 1 of a conversation is rendered through it too, so
# every turn of the same conversation reads alike.
PLAIN_CONVERSATION_TEMPLATE = "User: {user}\n\nAssistant: {assistant}\n\n"
PLAIN_CONVERSATION_TEMPLATE_END = "User: {user}\n\nAssistant:"


def plain_conversation(request: PromptRequest) -> str:
    """The conversation so far in the plain template, ending where the model's answer starts."""
    earlier = "".join(
        PLAIN_CONVERSATION_TEMPLATE.format(user=user, assistant=answer)
        for user, answer in request.history or ()
    )
    return earlier + PLAIN_CONVERSATION_TEMPLATE_END.format(user=request.text)


def plain_template_description() -> str:
    return (
        PLAIN_CONVERSATION_TEMPLATE.replace("\n", "\\n")
        + "... "
        + PLAIN_CONVERSATION_TEMPLATE_END.replace("\n", "\\n")
    )


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
