"""Two CPU processes under `accelerate launch` (gloo), for the distributed and FSDP finetune tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_two(entry: Path, tmp_path: Path, *runs: tuple[Path, Path, int | None], timeout: int) -> str:
    """Run ``entry`` with ``runs`` (config, log, stop step) in two processes; their output. A hang fails on the timeout."""
    accelerate = Path(sys.executable).with_name("accelerate")
    args = [str(a) for cfg, log, stop in runs for a in (cfg, log, "-" if stop is None else stop)]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # `--cpu` alone takes accelerate's single-process launcher; this is its multi-CPU route (torchrun).
        "ACCELERATE_USE_CPU": "1",
        "OMP_NUM_THREADS": "1",
        "HF_HOME": str(tmp_path / "hf"),  # no accelerate config file of the machine's user
        "HF_HUB_OFFLINE": "1",
    }
    command = [
        str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        str(entry), *args,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout
