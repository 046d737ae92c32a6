"""The hyperparameters a finetune job accepts: defaults, types and ranges (the TrainConfig subset users set).

Torch-free: the web side cleans a form's values with it before any job exists.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

HYPERPARAMETERS: dict[str, tuple[type, Any]] = {
    "steps": (int, 100),
    "batch_size": (int, 8),
    "seq_len": (int, 512),
    "lr": (float, 1e-4),
    "warmup": (int, 10),
    "grad_accum": (int, 1),
    "optimizer": (str, "adamw"),
    "eval_every": (int, 50),
    "save_every": (int, 100),
    "seed": (int, 0),
    "lora": (bool, False),
    "packing": (bool, True),
    "shard": (str, "none"),  # "fsdp": a full finetune sharded with FSDP (finetune.sharding)
}

SHARDS = ("none", "fsdp")


def finetune_hyperparameters_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, types coerced, ranges checked; ValidationError names the culprit."""
    unknown = set(values) - set(HYPERPARAMETERS)
    if unknown:
        raise ValidationError(f"unknown hyperparameter {sorted(unknown)[0]!r}")
    out: dict[str, Any] = {}
    for name, (kind, default) in HYPERPARAMETERS.items():
        value = values.get(name)
        if value is None:
            out[name] = default
            continue
        try:
            out[name] = kind(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{name}: expected {kind.__name__}, got {value!r}") from None
    for name in ("steps", "batch_size", "grad_accum", "eval_every", "save_every"):
        if out[name] < 1:
            raise ValidationError(f"{name} must be at least 1")
    if out["seq_len"] < 8:
        raise ValidationError("seq_len must be at least 8")
    if not out["lr"] > 0:
        raise ValidationError("lr must be positive")
    if out["warmup"] < 0:
        raise ValidationError("warmup must be >= 0")
    if out["optimizer"] not in ("adamw", "adafactor"):
        raise ValidationError(f"optimizer must be adamw or adafactor, not {out['optimizer']!r}")
    if out["shard"] not in SHARDS:
        raise ValidationError(f"shard must be none or fsdp, not {out['shard']!r}")
    if out["shard"] == "fsdp" and out["lora"]:
        raise ValidationError("shard fsdp is for full finetunes; LoRA runs do not shard")
    return out


def train_config_values(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The stored hyperparameters a TrainConfig takes (a job also stores the mixture's summary)."""
    return {k: v for k, v in hyperparameters.items() if k in HYPERPARAMETERS}
