"""distributed_entry.py with accelerate's FSDP allowed on the CPU: what test_fsdp runs under `accelerate launch`.

accelerate 1.15 turns an FSDP plugin on only for GPU-like processes; on the CPU a launched run is
``MULTI_CPU`` and the plugin is dropped (plain DDP), which ``finetune.sharding.fsdp_required``
refuses. torch's FSDP2 itself runs on the CPU over gloo, so this shim marks the state FSDP
exactly where accelerate would on a GPU, and the real loop runs: accelerate's own FSDP2
preparation (fully_shard per block, activation checkpointing), sharded steps, gathered
checkpoints. Nothing outside this test process is patched.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

from accelerate.state import AcceleratorState, PartialState
from accelerate.utils import DistributedType

_original_init = AcceleratorState.__init__


def _init(self: AcceleratorState, *args: Any, fsdp_plugin: Any = None, **kwargs: Any) -> None:
    _original_init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
    if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
        self.distributed_type = DistributedType.FSDP
        self.fsdp_plugin = fsdp_plugin
        PartialState._shared_state["distributed_type"] = DistributedType.FSDP


AcceleratorState.__init__ = _init  # type: ignore[method-assign]

if __name__ == "__main__":
    entry = Path(__file__).with_name("distributed_entry.py")
    sys.argv = [str(entry), *sys.argv[1:]]
    runpy.run_path(str(entry), run_name="__main__")
