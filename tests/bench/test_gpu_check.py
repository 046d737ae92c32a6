"""bench/gpu_check.sh in CPU mode, as CI runs it: the three lines, at toy size, with Django unimportable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NO_DJANGO = """
import sys
class _NoDjango:
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError("the GPU machine has no Django")
sys.meta_path.insert(0, _NoDjango())
"""


def _figures(lines: list[str], step: str) -> dict[str, str]:
    line = next(line for line in lines if line.startswith(f"check={step} "))
    return dict(pair.split("=", 1) for pair in line.split())


def test_the_gpu_check_runs_on_the_cpu_without_django_and_prints_generation_finetuning_and_test_lines(
    tmp_path: Path,
) -> None:
    # Every Python the script starts imports this sitecustomize first: a django import fails.
    (tmp_path / "sitecustomize.py").write_text(NO_DJANGO)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    start = time.perf_counter()
    done = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=180
    )
    took = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()

    generation = _figures(lines, "generation")
    assert float(generation["speedup"]) > 0 and float(generation["engine_tok_s"]) > 0
    assert float(generation["baseline_tok_s"]) > 0 and generation["device"] == "cpu"
    assert float(generation["exact_max_abs_diff"]) < 1e-3  # fp32 on the CPU: the stored scores are exact
    finetune = _figures(lines, "finetune")
    assert float(finetune["packed_tok_s"]) > 0 and float(finetune["padded_tok_s"]) > 0
    assert finetune["mfu"] == "na"
    assert _figures(lines, "fsdp")["ran"] == "no"
    tests = _figures(lines, "tests")
    assert (tests["passed"], tests["failed"], tests["errors"]) == ("0", "0", "0") and int(
        tests["skipped"]
    ) >= 2
    assert took < 120, f"took {took:.0f} s (CI budget: about a minute on a quiet machine)"
