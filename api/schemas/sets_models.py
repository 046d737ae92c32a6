"""Evaluation sets and models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field


class EvalSetOut(Schema):
    id: int
    name: str
    version: int
    description: str
    source_format: str
    prompts: int
    created: datetime


class EvalSetImported(EvalSetOut):
    created_now: bool = Field(description="false when an identical file was already stored (nothing new)")
    notes: list[str]


class InProcessModelIn(Schema):
    backend: Literal["inprocess"] = "inprocess"
    name: str
    path: str = Field(description="Hugging Face id or a directory on the workers")
    kind: Literal["causal", "seq2seq"] | None = None
    chat_template: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    description: str = ""


class ServedModelIn(Schema):
    backend: Literal["openai"]
    name: str
    base_url: str = Field(description="an OpenAI-compatible server, e.g. http://gpu-host:8000/v1")
    served_model: str
    chat: bool = False
    api_key_env: str = ""
    description: str = ""


class ModelOut(Schema):
    id: int
    name: str
    source: str
    backend: str
    path: str
    kind: str
    base_url: str
    served_model: str
    description: str
    created: datetime
