"""The checkpoint format: where a run keeps its checkpoints, writing one, reading one back.

Layout of a run's ``output_dir``::

    config.json, model.safetensors, tokenizer files   the final model (generation loads this)
    train_config.json                                 the full TrainConfig of the run
    checkpoints/step-000050/                          weights + train_config.json +
                                                      trainer_state.json + optimizer.pt + scheduler.pt

A checkpoint is written into ``step-NNNNNN.tmp`` and renamed into place, so a directory with a
``trainer_state.json`` is always complete. torch is imported only inside the functions that write
or read tensors: listing checkpoints is cheap.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

CHECKPOINTS = "checkpoints"
TRAIN_CONFIG = "train_config.json"
TRAINER_STATE = "trainer_state.json"
OPTIMIZER = "optimizer.pt"
SCHEDULER = "scheduler.pt"


def checkpoint_dirs(output_dir: Path | str) -> list[Path]:
    root = Path(output_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    # A staging directory (step-N.tmp) left by a crash is not a checkpoint.
    found = [p for p in root.glob("step-*") if p.name[5:].isdigit() and (p / TRAINER_STATE).is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(output_dir: Path | str) -> Path | None:
    dirs = checkpoint_dirs(output_dir)
    return dirs[-1] if dirs else None


def checkpoint_step(checkpoint: Path) -> int:
    return int(json.loads((checkpoint / TRAINER_STATE).read_text())["step"])


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


def checkpoint_save(
    output_dir: Path,
    step: int,
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    train_config: dict[str, Any],
    state: dict[str, Any],
    keep: int,
) -> Path:
    """Write step ``step``'s checkpoint (staged, then renamed into place); keep the last ``keep``."""
    import torch  # only a training process gets here

    final = Path(output_dir) / CHECKPOINTS / f"step-{step:06d}"
    staging = final.with_name(final.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    torch.save(optimizer.state_dict(), staging / OPTIMIZER)
    torch.save(scheduler.state_dict(), staging / SCHEDULER)
    write_json(staging / TRAIN_CONFIG, train_config)
    write_json(staging / TRAINER_STATE, state)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    for old in checkpoint_dirs(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_restore(checkpoint: Path, *, optimizer: Any, scheduler: Any) -> None:
    """The optimizer's and the scheduler's state (the weights load with the model)."""
    import torch

    optimizer.load_state_dict(torch.load(checkpoint / OPTIMIZER, map_location="cpu", weights_only=True))
    scheduler.load_state_dict(torch.load(checkpoint / SCHEDULER, map_location="cpu", weights_only=True))
