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
from collections.abc import Callable
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
    state_dict: dict[str, Any] | None = None,
    optimizer_state: dict[str, Any] | None = None,
) -> Path:
    """Write step ``step``'s checkpoint (staged, then renamed into place); keep the last ``keep``.

    ``state_dict`` and ``optimizer_state``: a sharded run's weights and optimizer state, gathered.
    """
    import torch  # only a training process gets here

    final = Path(output_dir) / CHECKPOINTS / f"step-{step:06d}"
    staging = final.with_name(final.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    checkpoint_model_save(model, staging, state_dict=state_dict)
    torch.save(optimizer.state_dict() if optimizer_state is None else optimizer_state, staging / OPTIMIZER)
    torch.save(scheduler.state_dict(), staging / SCHEDULER)
    write_json(staging / TRAIN_CONFIG, train_config)
    write_json(staging / TRAINER_STATE, state)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    for old in checkpoint_dirs(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_model_save(model: Any, folder: Path, *, state_dict: dict[str, Any] | None = None) -> None:
    """``save_pretrained``, with a sharded run's gathered weights where given.

    FSDP renames the model's class (FSDPLlamaForCausalLM): the saved config names the original,
    so that loaders reading ``architectures`` see the model they know.
    """
    model.save_pretrained(folder, state_dict=state_dict)
    original = [c.__name__ for c in type(model).__mro__[1:] if type(model).__name__ == f"FSDP{c.__name__}"]
    if original:
        config = json.loads((folder / "config.json").read_text())
        write_json(folder / "config.json", {**config, "architectures": original[:1]})


def checkpoint_restore(
    checkpoint: Path,
    *,
    optimizer: Any,
    scheduler: Any,
    load_optimizer_state: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """The optimizer's and the scheduler's state (the weights load with the model).

    A sharded run saved its optimizer state gathered: ``load_optimizer_state`` shards it back.
    """
    import torch

    optimizer_state = torch.load(checkpoint / OPTIMIZER, map_location="cpu", weights_only=True)
    (load_optimizer_state or optimizer.load_state_dict)(optimizer_state)
    scheduler.load_state_dict(torch.load(checkpoint / SCHEDULER, map_location="cpu", weights_only=True))
