"""Generation, finetune and judge jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from generation.params import DEFAULTS


class GenerationJobIn(Schema):
    model: str
    eval_set: str = Field(description="NAME (newest version) or NAME@vN")
    samples: int = DEFAULTS.samples_per_prompt
    temperature: float = DEFAULTS.temperature
    top_p: float = DEFAULTS.top_p
    top_k: int = DEFAULTS.top_k
    max_new_tokens: int = DEFAULTS.max_new_tokens
    min_new_tokens: int = DEFAULTS.min_new_tokens
    seed: int = DEFAULTS.seed
    selection_policy: str = DEFAULTS.selection_policy
    limit: int | None = Field(default=None, description="only the first N prompts of the set")
    workers: int = 1


class JobOut(Schema):
    id: int
    kind: str = Field(description="generation, finetune or judge")
    status: str = Field(description="queued, running, done, failed or cancelled")
    done: int
    total: int
    error: str = Field(description="why it failed, for whoever retries it")
    cancel_requested: bool
    created: datetime
    finished: datetime | None
    detail: dict[str, Any]


class FinetuneJobIn(Schema):
    base: str
    mixture_path: str = Field(description="a mixture file on the server (as the finetune command takes)")
    name: str = Field(description="the model the finished job registers")
    hyperparameters: dict[str, Any] = Field(default_factory=dict)


class JudgeRunIn(Schema):
    model: str
    chunk_size: int = 16
    max_answer_chars: int = 3000
