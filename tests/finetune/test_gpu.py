"""The finetuning loop on a CUDA GPU: bf16 packed training, and FSDP in a worker's single process.

No Django and no conftest needed: bench/gpu_check.sh runs this file with `pytest --noconftest`
on a GPU machine that has torch but not the site's packages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

EXAMPLES = [(f"What is {i} plus {i}?", str(2 * i)) for i in range(64)]


def _config(tmp_path: Path, out: str, **extra: Any) -> Any:
    from finetune.train_types import TrainConfig
    from generation.tiny import save_tiny, tiny_causal

    base = save_tiny(tiny_causal(seed=0, hidden=64, layers=2, heads=4), tmp_path / "base")
    values: dict[str, Any] = {
        "steps": 6,
        "batch_size": 4,
        "seq_len": 128,
        "lr": 3e-3,
        "warmup": 1,
        "log_every": 1,
    }
    return TrainConfig(base=str(base), output_dir=str(tmp_path / out), eval_fraction=0.0, **values, **extra)


def test_a_packed_run_on_the_gpu_trains_in_bf16_with_a_falling_finite_loss(tmp_path: Path) -> None:
    from finetune.train import train

    result = train(_config(tmp_path, "packed"), examples=EXAMPLES)
    assert "bf16 mixed precision" in result.notes
    losses = [m["loss"] for m in result.metrics]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]


def test_a_sharded_run_in_one_process_trains_and_saves_a_model_that_loads(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from finetune.train import train

    result = train(_config(tmp_path, "sharded", shard="fsdp"), examples=EXAMPLES)
    assert any("FSDP full shard" in note for note in result.notes)
    assert json.loads((result.output_dir / "config.json").read_text())["architectures"] == [
        "LlamaForCausalLM"
    ]
    model = AutoModelForCausalLM.from_pretrained(result.output_dir)
    assert all(torch.isfinite(p).all() for p in model.parameters())
