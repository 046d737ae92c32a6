"""Two real processes (gloo on the CPU) under `accelerate launch`: a stop asked for on the main
process alone stops both at the same step, after one resumable checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is needed", allow_module_level=True)

from finetune import checkpoints as ck  # noqa: E402
from generation.tiny import save_tiny, tiny_causal  # noqa: E402
from tests.finetune.launching import launch_two  # noqa: E402

ENTRY = Path(__file__).with_name("distributed_entry.py")
STEPS, STOP_AT = 8, 4


def _launch(tmp_path: Path, *runs: tuple[Path, Path, int | None]) -> str:
    return launch_two(ENTRY, tmp_path, *runs, timeout=150)


def _config(tmp_path: Path, base: Path, out: str) -> Path:
    config = {
        "base": str(base),
        "output_dir": str(tmp_path / out),
        "mixture": str(tmp_path / "mix.yaml"),
        "num_examples": 24,
        "steps": STEPS,
        "batch_size": 2,
        "seq_len": 64,
        "lr": 3e-3,
        "warmup": 2,
        "eval_every": 100,
        "save_every": 100,  # the only checkpoint before the end is the stop's
        "log_every": 1,
        "eval_fraction": 0.0,
    }
    path = tmp_path / f"{out}.json"
    path.write_text(json.dumps(config))
    return path


def _losses(log: Path) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in map(json.loads, log.read_text().splitlines())}


def test_a_stop_on_the_main_process_stops_both_processes_at_one_step_and_resumes_on_track(
    tmp_path: Path,
) -> None:
    base = save_tiny(tiny_causal(seed=1, hidden=32, layers=1, heads=2), tmp_path / "base")
    rows = [{"question": f"What is {i} plus {i}?", "answer": str(2 * i)} for i in range(24)]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "mix.yaml").write_text("tasks:\n  - {name: sums, type: closed_book_qa, data: qa.jsonl}\n")
    stopped, straight = _config(tmp_path, base, "stopped"), _config(tmp_path, base, "straight")

    out = _launch(
        tmp_path, (straight, tmp_path / "straight.jsonl", None), (stopped, tmp_path / "first.jsonl", STOP_AT)
    )
    for rank in (0, 1):
        assert f"[process {rank}/2] stopped at step {STOP_AT}; a checkpoint was saved" in out
    checkpoint = ck.latest_checkpoint(tmp_path / "stopped")
    assert checkpoint is not None and [p.name for p in ck.checkpoint_dirs(tmp_path / "stopped")] == [
        f"step-{STOP_AT:06d}"
    ]
    state = json.loads((checkpoint / ck.TRAINER_STATE).read_text())
    assert state["step"] == STOP_AT and "2 processes" in state["notes"]
    assert sorted(_losses(tmp_path / "first.jsonl")) == list(range(1, STOP_AT + 1))

    out = _launch(tmp_path, (stopped, tmp_path / "resumed.jsonl", None))
    assert f"[process 1/2] finished at step {STEPS}" in out
    resumed, reference = _losses(tmp_path / "resumed.jsonl"), _losses(tmp_path / "straight.jsonl")
    assert sorted(resumed) == list(range(STOP_AT + 1, STEPS + 1))
    first = _losses(tmp_path / "first.jsonl")
    assert [first[s] for s in sorted(first)] == pytest.approx([reference[s] for s in range(1, STOP_AT + 1)])
    assert [resumed[s] for s in sorted(resumed)] == pytest.approx(
        [reference[s] for s in range(STOP_AT + 1, STEPS + 1)], rel=1e-3
    )
    assert (tmp_path / "stopped" / "model.safetensors").is_file()
