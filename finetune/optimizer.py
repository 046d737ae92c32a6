"""The optimizer a run trains with (AdamW or Adafactor) and its warm-up schedule."""

from __future__ import annotations

from typing import Any

import torch

from finetune.train_types import TrainConfig


def optimizer_build(config: TrainConfig, model: Any) -> tuple[torch.optim.Optimizer, Any]:
    """The optimizer, and a linear warm-up to a constant learning rate."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer: torch.optim.Optimizer
    if config.optimizer == "adafactor":
        from transformers.optimization import Adafactor

        optimizer = Adafactor(
            params,
            lr=config.lr,
            scale_parameter=False,
            relative_step=False,
            warmup_init=False,
            weight_decay=config.weight_decay,
        )
    else:
        optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = config.warmup
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup > 0 else 1.0
    )
    return optimizer, scheduler
