"""What callers of the training loop hand in and get back: TrainConfig, the callback, the result.

Torch-free, so that a command or the job runner can build a config or a callback before the loop
(and torch) is imported. `finetune.train` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from generation.model_kind import KINDS


@dataclass
class TrainConfig:
    base: str
    output_dir: str
    mixture: str | None = None
    kind: str = ""  # "causal" | "seq2seq"; empty: read from the model config
    steps: int = 100
    batch_size: int = 8
    seq_len: int = 512
    lr: float = 1e-4
    warmup: int = 10
    grad_accum: int = 1
    optimizer: str = "adamw"  # or "adafactor"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    eval_every: int = 50
    save_every: int = 100
    log_every: int = 0  # 0: about 50 logs over the run
    seed: int = 0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    packing: bool = True
    num_examples: int | None = None  # rendered from the mixture; default: sum of capped sizes
    eval_fraction: float = 0.05
    max_eval_examples: int = 200
    keep_checkpoints: int = 2
    precision: str = "auto"  # "auto" (bf16 on a GPU that has it), "bf16", "no"
    shard: str = "none"  # "fsdp": a full finetune sharded with FSDP (finetune.sharding)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        for name in ("steps", "batch_size", "seq_len", "grad_accum", "eval_every", "save_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.seq_len < 8:
            raise ValueError("seq_len must be at least 8")
        if not self.lr > 0:
            raise ValueError("lr must be positive")
        if self.warmup < 0:
            raise ValueError("warmup must be >= 0")
        if self.optimizer not in ("adamw", "adafactor"):
            raise ValueError(f"optimizer must be adamw or adafactor, not {self.optimizer!r}")
        if self.kind not in ("", *KINDS):
            raise ValueError(f"kind must be causal or seq2seq, not {self.kind!r}")
        if self.shard not in ("none", "fsdp"):
            raise ValueError(f"shard must be none or fsdp, not {self.shard!r}")
        if self.shard == "fsdp" and self.lora:
            raise ValueError("--shard fsdp is for full finetunes; LoRA runs do not shard")

    def log_interval(self) -> int:
        return self.log_every or max(1, self.steps // 50)

    def due(self, step: int, every: int) -> bool:
        """Whether something done ``every`` steps (and at the end) happens at ``step``."""
        return step % every == 0 or step == self.steps


class TrainCallback:
    """Hooks the loop calls on the main process; the default does nothing."""

    def on_start(self, info: dict[str, Any]) -> None:
        """``info``: total_steps, start_step, notes, packing_efficiency, examples."""

    def on_log(self, metrics: dict[str, Any]) -> None:
        """``metrics``: step, total_steps, loss, lr, tokens_per_s, elapsed_s (+ eval_loss)."""

    def should_stop(self) -> bool:
        return False


class ProgressCallback(TrainCallback):
    """Hands every logged metrics entry to a function (a progress bar, say)."""

    def __init__(self, progress: Callable[[dict[str, Any]], None]) -> None:
        self.progress = progress

    def on_log(self, metrics: dict[str, Any]) -> None:
        self.progress(metrics)


class TrainingStopped(Exception):
    """The callback asked to stop; every process saw it at ``step``, and a checkpoint was saved first."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped at step {step}; a checkpoint was saved")
        self.step = step


@dataclass
class TrainResult:
    output_dir: Path
    step: int
    kind: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resumed_from: int = 0
    packing_efficiency: float | None = None
