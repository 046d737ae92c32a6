"""Full finetunes that shard (``TrainConfig.shard == "fsdp"``): accelerate's FSDP, set up and gathered.

FULL_SHARD (FSDP2: parameters, gradients and optimizer states split across the processes and
resharded after each forward), bf16 mixed precision where the run is bf16 (fp32 otherwise),
activation checkpointing per decoder block, and checkpoints written as one gathered full state
dict, so that ``register_model`` and generation load them like any other model. LoRA runs never
shard (its trainable state is small; ``TrainConfig.validate`` refuses the pair).

accelerate applies FSDP only to GPU-like processes (``DistributedType.MULTI_GPU`` and its kin):
on the CPU, in accelerate 1.15, a multi-process run with an FSDP plugin silently becomes plain
DDP. ``fsdp_required`` turns that into a clear error instead. torch's FSDP itself does run on the CPU
over gloo, which is how the tests check this module (tests/finetune/fsdp_entry.py).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import torch

FSDP = "fsdp"
SHARDS = ("none", FSDP)


def fsdp_plugin() -> Any:
    """accelerate's FSDP plugin for a full finetune (the mixed precision comes from the Accelerator).

    Call it before the Accelerator is made: a process not launched by accelerate gets a world of one.
    """
    from accelerate.utils import FullyShardedDataParallelPlugin

    single_process_group()

    return FullyShardedDataParallelPlugin(
        fsdp_version=2,
        reshard_after_forward=True,  # FULL_SHARD
        activation_checkpointing=True,
        auto_wrap_policy="transformer_based_wrap",  # one unit per block (the model's _no_split_modules)
        state_dict_type="FULL_STATE_DICT",
        cpu_ram_efficient_loading=False,
    )


def single_process_group() -> None:
    """A world of one for a job run inside a worker on one GPU (no ``accelerate launch``).

    accelerate turns FSDP on only in a launched (distributed) process; these are the variables
    the launcher would have set. Memory is then not split (one process holds every shard), but
    the run is the same one ``accelerate launch --num_processes N -m finetune.launch`` shards.
    """
    if "LOCAL_RANK" in os.environ or not torch.cuda.is_available():
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0", "WORLD_SIZE": "1"})
    os.environ.update({"LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1"})


def accelerate_state_for(shard: str) -> None:
    """accelerate keeps one state per process: a worker whose last job sharded differently would
    otherwise keep that job's choice. Call it before the Accelerator is made."""
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType

    shared = AcceleratorState._shared_state
    if shared and (shared.get("distributed_type") == DistributedType.FSDP) != (shard == FSDP):
        launched = "LOCAL_RANK" in os.environ
        AcceleratorState._reset_state(reset_partial_state=not launched and PartialState().num_processes == 1)


def fsdp_required(accelerator: Any) -> None:
    """RuntimeError, saying why, unless accelerate did turn FSDP on for this process."""
    from accelerate.utils import DistributedType

    if accelerator.distributed_type == DistributedType.FSDP:
        return
    raise RuntimeError(
        "--shard fsdp needs GPUs: accelerate applies FSDP only to GPU processes, and this one is "
        f"{accelerator.distributed_type.value} on {accelerator.device} (on the CPU it would silently "
        "run plain data parallelism); train without --shard, or on a GPU machine"
    )


def gathered(model: Any, optimizer: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Weights and optimizer state, each gathered onto the main process; every process calls it."""
    return full_state_dict(model), full_optimizer_state(model, optimizer)


def full_state_dict(model: Any) -> dict[str, Any]:
    """The model's weights gathered onto the main process's CPU (others get {}); every process calls it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def full_optimizer_state(model: Any, optimizer: Any) -> dict[str, Any]:
    """The optimizer's state gathered onto the main process (keyed by parameter name); every process calls it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_optimizer_state_dict(model, _inner(optimizer), options=options)


def load_full_optimizer_state(model: Any, optimizer: Any, state: dict[str, Any]) -> None:
    """Shard a gathered optimizer state back over the processes (each read the same file)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True)
    set_optimizer_state_dict(model, _inner(optimizer), optim_state_dict=state, options=options)


def _inner(optimizer: Any) -> Any:
    # accelerate wraps the optimizer; torch's state-dict helpers want the torch one.
    return getattr(optimizer, "optimizer", optimizer)
