"""What test_distributed runs under `accelerate launch`: finetune.launch, with a callback the test controls.

    distributed_entry.py CONFIG.json LOG.jsonl STOP_AT [CONFIG.json LOG.jsonl STOP_AT ...]

runs each config in turn in the same processes (STOP_AT "-": to the end). Only the main process's
callback is asked whether to stop (the loop tells the others), so "stop after step STOP_AT" is
decided on rank 0 alone, as a cancel read from the job's row is. The main process appends every
logged metrics entry to LOG.jsonl.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from finetune import launch
from finetune.train_types import TrainCallback


class StopAfter(TrainCallback):
    def __init__(self, log: Path, stop_at: int | None) -> None:
        self.log = log
        self.stop_at = stop_at
        self.step = 0

    def on_log(self, metrics: dict[str, Any]) -> None:
        self.step = metrics["step"]
        with self.log.open("a") as fh:
            fh.write(json.dumps(metrics) + "\n")

    def should_stop(self) -> bool:
        return self.stop_at is not None and self.step >= self.stop_at


if __name__ == "__main__":
    torch.set_num_threads(1)
    args = sys.argv[1:]
    for i in range(0, len(args), 3):
        config, log, stop_at = args[i : i + 3]
        callback = StopAfter(Path(log), None if stop_at == "-" else int(stop_at))
        if launch.main([config], callback=callback) != 0:
            raise SystemExit(1)
    launch.process_group_close()
