"""``accelerate launch [--num_processes N] -m finetune.launch CONFIG.json``: one run across all processes.

CONFIG.json holds a TrainConfig (the ``train_config.json`` a run saves beside its weights has
this shape, so a run can be repeated or resumed from it). Register the result afterwards with
``manage.py register_model NAME --path OUTPUT_DIR``. ``--stop-file PATH`` stops every process at
the same step once PATH exists, after a checkpoint: the same command then resumes.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from finetune.train import TrainCallback, TrainConfig, TrainingStopped, train


class StopFileCallback(TrainCallback):
    """Asks to stop once a file exists (the main process looks; the loop tells the others)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def should_stop(self) -> bool:
        return self.path.exists()


def _say(text: str) -> None:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    prefix = f"[process {os.environ.get('RANK', '0')}/{world}] " if world > 1 else ""
    print(prefix + text, flush=True)


def main(argv: Sequence[str] | None = None, *, callback: TrainCallback | None = None) -> int:
    """Run the TrainConfig in CONFIG.json; 0 when it finished or stopped cleanly (resumable)."""
    parser = argparse.ArgumentParser(prog="python -m finetune.launch", description=__doc__)
    parser.add_argument("config", help="a JSON file holding a TrainConfig")
    parser.add_argument("--no-resume", action="store_true", help="start over even if checkpoints exist")
    parser.add_argument("--stop-file", help="stop (with a checkpoint) once this file exists")
    args = parser.parse_args(argv)
    config = TrainConfig.from_dict(json.loads(Path(args.config).read_text()))
    if callback is None and args.stop_file:
        callback = StopFileCallback(args.stop_file)
    try:
        result = train(config, resume=not args.no_resume, callback=callback)
    except TrainingStopped as exc:
        _say(f"{exc}: run the same command to resume")
        return 0
    _say(f"finished at step {result.step}: {config.output_dir}")
    return 0


def process_group_close() -> None:
    """Leave the process group before the interpreter exits.

    Gloo's threads still running at exit abort a process ("terminate called without an active
    exception", SIGABRT): seen once in a two-process test under load, after both processes had finished.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    code = main()
    process_group_close()
    raise SystemExit(code)
