"""Which kind of language model a checkpoint holds: the one rule the registry, engine and training use.

Pure: no Django, no torch, no transformers. A Hub id's config is fetched only by a caller that
passes `fetch_config` (the worker does, at load time, with transformers' AutoConfig; the web
registry does not).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CAUSAL = "causal"
SEQ2SEQ = "seq2seq"
KINDS = (CAUSAL, SEQ2SEQ)

_PEFT_TASKS = {"CAUSAL_LM": CAUSAL, "SEQ_2_SEQ_LM": SEQ2SEQ}


class ModelKindError(ValueError):
    """A config that exists but cannot be read."""


def kind_from_config(config: Mapping[str, Any] | Any) -> str:
    """ "seq2seq" for an encoder-decoder config (a dict or a transformers config object), else "causal"."""
    if not isinstance(config, Mapping):
        config = config.to_dict()
    architectures = " ".join(config.get("architectures") or [])
    if (
        config.get("is_encoder_decoder")
        or "ConditionalGeneration" in architectures
        or "Seq2Seq" in architectures
    ):
        return SEQ2SEQ
    return CAUSAL


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelKindError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelKindError(f"{path} is not a JSON object")
    return data


def model_kind_detect(path: str, *, fetch_config: Callable[[str], Any] | None = None) -> str:
    """The kind of the model at `path`: a local directory, or a Hub id whose config `fetch_config`
    (e.g. `transformers.AutoConfig.from_pretrained`) returns.

    A PEFT adapter directory (a finetune may save only that) has its base model's kind. Returns ""
    when the kind cannot be known without fetching (a Hub id and no `fetch_config`).
    """
    directory = Path(path)
    config_file = directory / "config.json"
    adapter_file = directory / "adapter_config.json"
    if config_file.is_file():
        return kind_from_config(_read_json(config_file))
    if adapter_file.is_file():
        adapter = _read_json(adapter_file)
        task = _PEFT_TASKS.get(str(adapter.get("task_type") or ""))
        if task:
            return task
        base = adapter.get("base_model_name_or_path")
        return model_kind_detect(str(base), fetch_config=fetch_config) if base else ""
    if fetch_config is None:
        return ""
    return kind_from_config(fetch_config(path))
