"""The GPU check's steps (bench/gpu_check.sh runs them): generation, finetuning, the gpu tests.

    python bench/gpu_check.py generation|finetune|fsdp|tests

Each prints one line of key=value pairs, the first pair naming the step. No Django: the
borrowed GPU machine has torch, transformers, accelerate and peft, not the site's packages.
Without a GPU each step runs the same code at toy size (CI runs it, in well under a minute).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GPU_TESTS = ["tests/finetune/test_gpu.py"]  # torch-level, importable without Django or conftest


def _gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _last_figures(args: list[str], timeout: float) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        return {"error": re.sub(r"\s+", "_", tail[0])[:200]}
    last = done.stdout.strip().splitlines()[-1]
    return dict(pair.split("=", 1) for pair in last.split() if "=" in pair)


def _line(step: str, figures: dict[str, str]) -> None:
    print(" ".join([f"check={step}", *(f"{k}={v}" for k, v in figures.items())]), flush=True)


def generation() -> None:
    if _gpus():  # Qwen2.5-0.5B's shape, the 190 usability prompts x 5 samples, bf16
        args = [
            "--model-size",
            "qwen0.5b",
            "--prompts",
            "190",
            "--max-new-tokens",
            "48",
            "--batch-size",
            "64",
        ]
        args += ["--repeats", "1", "--exactness", "8"]
        timeout = 330.0
    else:
        args = ["--model-size", "tiny", "--prompts", "4", "--max-new-tokens", "8", "--repeats", "1"]
        args += ["--exactness", "2", "--threads", "1"]
        timeout = 60.0
    got = _last_figures(["bench/generation.py", "--vllm", "off", *args], timeout)
    keys = {"speedup": "speedup", "ours_tok_s": "engine_tok_s", "baseline_tok_s": "baseline_tok_s"}
    keys |= {
        "exact_max_abs_diff": "exact_max_abs_diff",
        "model": "model",
        "device": "device",
        "error": "error",
    }
    _line("generation", {new: got[old] for old, new in keys.items() if old in got})


def finetune() -> None:
    if _gpus():
        args, timeout = ["--steps", "20"], 150.0
    else:
        args = ["--steps", "2", "--warmup", "1", "--batch-rows", "2", "--seq-len", "128", "--examples", "200"]
        timeout = 60.0
    got = _last_figures(["bench/finetune.py", *args], timeout)
    keys = ["packed_tok_s", "padded_tok_s", "mfu", "speedup", "params_m", "device", "gpu", "error"]
    _line("finetune", {k: got[k] for k in keys if k in got})


def fsdp() -> None:
    """Two steps of a sharded full finetune over two GPUs (accelerate launch), if there are two."""
    gpus = _gpus()
    if gpus < 2:
        _line("fsdp", {"ran": "no", "reason": f"{gpus}_gpus(needs_2)"})
        return
    from generation.tiny import save_tiny, tiny_causal

    work = Path(tempfile.mkdtemp(prefix="gpu-check-fsdp-"))
    base = save_tiny(tiny_causal(seed=0, hidden=256, layers=4, heads=4), work / "base")
    config = {"base": str(base), "output_dir": str(work / "out"), "steps": 2, "batch_size": 4, "seq_len": 256}
    config |= {"mixture": str(ROOT / "finetune/data/demo_mixture.yaml"), "num_examples": 200, "shard": "fsdp"}
    config |= {"log_every": 1, "eval_fraction": 0.0, "warmup": 1}
    (work / "run.json").write_text(json.dumps(config))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2"]
    accelerate += ["--num_machines", "1", "--mixed_precision", "bf16", "--main_process_port", port]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [*accelerate, "-m", "finetune.launch", str(work / "run.json")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    ok = done.returncode == 0 and (work / "out" / "model.safetensors").is_file()
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    _line(
        "fsdp",
        {"ran": "yes", "ok": str(ok).lower(), "processes": "2"} | ({} if ok else {"error": tail[0][:200]}),
    )


def tests() -> None:
    """The gpu-marked tests that need no Django (GPU_TESTS), with pytest where it can be imported."""
    try:
        import pytest  # noqa: F401
    except ImportError:
        _line(
            "tests", {"passed": "0", "failed": "0", "ran": "no", "reason": "no_pytest(see_README_Benchmarks)"}
        )
        return
    command = [sys.executable, "-m", "pytest", "-q", "--noconftest", "-p", "no:cacheprovider", "-m", "gpu"]
    # No plugins from the machine (pytest-django would want the site's settings): the tests need none.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [*command, *GPU_TESTS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    summary = done.stdout.strip().splitlines()[-1:] or [""]
    counts = {word: num for num, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary[0])}
    figures = {"passed": counts.get("passed", "0"), "failed": counts.get("failed", "0")}
    figures |= {
        "skipped": counts.get("skipped", "0"),
        "errors": counts.get("error", counts.get("errors", "0")),
    }
    _line("tests", figures | {"files": ",".join(GPU_TESTS)})


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    {"generation": generation, "finetune": finetune, "fsdp": fsdp, "tests": tests}[sys.argv[1]]()
