"""Full finetunes that shard (`--shard fsdp`): the option end to end, and the run as far as the CPU goes.

What the pinned versions allow on the CPU (torch 2.13.0+cpu, accelerate 1.15.0): torch's FSDP2
runs over gloo, but accelerate applies its FSDP plugin only to GPU-like processes; a CPU run
launched with the plugin is `MULTI_CPU` and silently trains plain DDP. So the two-process test
launches through tests/finetune/fsdp_entry.py, which marks accelerate's state FSDP where a GPU
would, and the real loop runs sharded (accelerate's FSDP2 preparation, activation checkpointing,
gathered checkpoints); without the shim the run refuses (tested below). bf16 mixed precision
waits for a GPU (bench/gpu_check.sh runs a two-step FSDP finetune where more than one is there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from finetune import services
from finetune.hyperparameters import finetune_hyperparameters_clean
from finetune.models import FinetuneJob
from finetune.runner import train_config_for
from finetune.train_types import TrainConfig
from generation.models import ModelSpec
from tests.finetune.launching import launch_two

torch = pytest.importorskip("torch")

ENTRY = Path(__file__).with_name("fsdp_entry.py")


def _launch(tmp_path: Path, *runs: tuple[Path, Path, int | None]) -> str:
    return launch_two(ENTRY, tmp_path, *runs, timeout=240)


def _sharded_config(tmp_path: Path, base: Path, out: str) -> Path:
    config = {
        "base": str(base),
        "output_dir": str(tmp_path / out),
        "mixture": str(tmp_path / "mix.yaml"),
        "num_examples": 24,
        "steps": 2,
        "batch_size": 2,
        "seq_len": 64,
        "lr": 3e-3,
        "warmup": 1,
        "eval_every": 100,
        "save_every": 100,
        "log_every": 1,
        "eval_fraction": 0.0,
        "shard": "fsdp",
    }
    path = tmp_path / f"{out}.json"
    path.write_text(json.dumps(config))
    return path


def _losses(log: Path) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in map(json.loads, log.read_text().splitlines())}


def _weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.django_db
def test_two_cpu_processes_train_sharded_log_the_loss_and_resume_from_a_gathered_checkpoint_that_register_model_loads(
    tmp_path: Path,
) -> None:
    from generation.loaded_model import LoadedModel
    from generation.tiny import save_tiny, tiny_causal

    base = save_tiny(tiny_causal(seed=1, hidden=32, layers=2, heads=2), tmp_path / "base")
    rows = [{"question": f"What is {i} plus {i}?", "answer": str(2 * i)} for i in range(24)]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "mix.yaml").write_text("tasks:\n  - {name: sums, type: closed_book_qa, data: qa.jsonl}\n")
    straight, stopped = (
        _sharded_config(tmp_path, base, "straight"),
        _sharded_config(tmp_path, base, "stopped"),
    )

    out = _launch(
        tmp_path, (straight, tmp_path / "straight.jsonl", None), (stopped, tmp_path / "first.jsonl", 1)
    )
    assert "[process 1/2] stopped at step 1" in out
    checkpoint = tmp_path / "stopped" / "checkpoints" / "step-000001"
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert "2 processes" in state["notes"] and any("FSDP full shard" in n for n in state["notes"])
    # The config is saved beside every checkpoint and beside the final weights.
    assert json.loads((checkpoint / "train_config.json").read_text())["shard"] == "fsdp"
    assert json.loads((tmp_path / "straight" / "train_config.json").read_text())["shard"] == "fsdp"
    # The checkpoint is one gathered state dict under the model's own class, not FSDP's.
    assert json.loads((checkpoint / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
    assert not any(".rank" in p.name or "distcp" in p.name for p in checkpoint.iterdir())

    out = _launch(tmp_path, (stopped, tmp_path / "resumed.jsonl", None))
    assert "[process 0/2] finished at step 2" in out
    reference, first = _losses(tmp_path / "straight.jsonl"), _losses(tmp_path / "first.jsonl")
    resumed = _losses(tmp_path / "resumed.jsonl")
    assert sorted(reference) == [1, 2] and all(0 < loss < 20 for loss in reference.values())
    assert first[1] == pytest.approx(reference[1]) and resumed[2] == pytest.approx(reference[2], rel=1e-4)

    # The gathered optimizer state came back sharded: the resumed weights are the straight run's.
    tuned, again, start = _weights(tmp_path / "stopped"), _weights(tmp_path / "straight"), _weights(base)
    for name, tensor in again.items():
        torch.testing.assert_close(tuned[name], tensor, rtol=1e-4, atol=1e-6)
    assert all(not torch.equal(tuned[name], start[name]) for name in start)

    call_command("register_model", "sharded-tuned", "--path", str(tmp_path / "stopped"))
    spec = ModelSpec.objects.get(name="sharded-tuned")
    loaded = LoadedModel.load(spec.path, kind=spec.kind or None, device="cpu")
    assert loaded.kind == "causal"
    assert all(torch.equal(p.detach(), tuned[n]) for n, p in loaded.model.named_parameters() if n in tuned)


def test_a_sharded_run_on_the_cpu_stops_before_training_and_says_why(tmp_path: Path) -> None:
    from finetune.train import train
    from generation.tiny import save_tiny, tiny_causal

    base = save_tiny(tiny_causal(seed=1, hidden=32, layers=1, heads=2), tmp_path / "base")
    config = TrainConfig(base=str(base), output_dir=str(tmp_path / "out"), steps=1, shard="fsdp")
    with pytest.raises(RuntimeError, match=r"--shard fsdp needs GPUs: .* plain data parallelism"):
        train(config, examples=[("What is 1 plus 1?", "2")] * 4)
    assert not (tmp_path / "out").exists()


def test_a_sharded_lora_run_or_an_unknown_shard_is_refused() -> None:
    with pytest.raises(ValueError, match="LoRA runs do not shard"):
        TrainConfig(base="b", output_dir="o", shard="fsdp", lora=True).validate()
    with pytest.raises(ValueError, match="shard must be none or fsdp"):
        TrainConfig(base="b", output_dir="o", shard="zero3").validate()
    with pytest.raises(ValidationError, match="LoRA runs do not shard"):
        finetune_hyperparameters_clean({"shard": "fsdp", "lora": True})
    with pytest.raises(ValidationError, match="shard must be none or fsdp"):
        finetune_hyperparameters_clean({"shard": "zero3"})
    assert finetune_hyperparameters_clean({})["shard"] == "none"


@pytest.fixture
def tiny_base(tmp_path: Path, settings, db) -> ModelSpec:
    from generation.tiny import save_tiny, tiny_causal

    settings.MODELS_DIR = tmp_path / "models"
    path = save_tiny(tiny_causal(seed=0, hidden=32, layers=1, heads=2), tmp_path / "base")
    (tmp_path / "qa.jsonl").write_text('{"question": "What is 1 plus 1?", "answer": "2"}\n')
    (tmp_path / "mix.yaml").write_text("tasks:\n  - {name: sums, type: closed_book_qa, data: qa.jsonl}\n")
    return ModelSpec.objects.create(name="tiny-base", path=str(path), kind="causal")


def test_the_command_and_the_form_queue_a_sharded_job_whose_run_shards(
    tiny_base, tmp_path, researcher_client
) -> None:
    from django.urls import reverse

    mixture = str(tmp_path / "mix.yaml")
    call_command("finetune", "--base", "tiny-base", "--mixture", mixture, "--name", "cli", "--shard", "fsdp")
    post: dict[str, Any] = {
        "base": "tiny-base",
        "name": "web",
        "mixture_path": mixture,
        "optimizer": "adamw",
        "shard": "fsdp",
    }
    post |= {"steps": 2, "batch_size": 2, "seq_len": 64, "lr": 1e-3, "warmup": 0, "grad_accum": 1}
    post |= {"eval_every": 1, "save_every": 1, "seed": 0}
    assert researcher_client.post(reverse("finetune:job_create"), post).status_code == 302
    for name in ("cli", "web"):
        job = FinetuneJob.objects.get(name=name)
        assert job.hyperparameters["shard"] == "fsdp" and train_config_for(job).shard == "fsdp"
    form = researcher_client.get(reverse("finetune:job_create")).content.decode()
    assert 'name="shard"' in form and "FSDP" in form
    with pytest.raises(ValidationError, match="LoRA runs do not shard"):
        services.finetune_job_create(
            base="tiny-base",
            mixture_path=mixture,
            name="both",
            hyperparameters={"shard": "fsdp", "lora": True},
            enqueue=False,
        )
    assert not FinetuneJob.objects.filter(name="both").exists()
