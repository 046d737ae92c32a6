"""The training loop on tiny in-process models: learning, saving, reloading, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
# Tiny models run fastest on one thread, and the CI machine is shared.
torch.set_num_threads(1)

from finetune import checkpoints as ck  # noqa: E402
from finetune import launch  # noqa: E402
from finetune import train as tr  # noqa: E402
from generation.tiny import save_tiny, tiny_causal, tiny_seq2seq  # noqa: E402

MEMO = [
    (f"Code {w}?", w[::-1]) for w in ("apple", "river", "stone", "cloud", "flame", "grass", "honey", "pearl")
]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return save_tiny(tiny_causal(seed=1), tmp_path_factory.mktemp("base") / "tiny")


def config(base: Path, out: Path, **kw) -> tr.TrainConfig:
    defaults = dict(
        base=str(base),
        output_dir=str(out),
        steps=30,
        batch_size=2,
        seq_len=64,
        lr=3e-3,
        warmup=3,
        eval_every=10,
        save_every=10,
        log_every=1,
        eval_fraction=0.0,
    )
    return tr.TrainConfig(**{**defaults, **kw})


class Recorder(tr.TrainCallback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.logs: list[dict] = []
        self.info: dict = {}
        self.stop_at = stop_at

    def on_start(self, info: dict) -> None:
        self.info = info

    def on_log(self, metrics: dict) -> None:
        self.logs.append(metrics)

    def should_stop(self) -> bool:
        return self.stop_at is not None and bool(self.logs) and self.logs[-1]["step"] >= self.stop_at


def test_a_tiny_model_learns_a_memorisable_set_and_saves_a_loadable_model(base: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rec = Recorder()
    result = tr.train(config(base, tmp_path / "out"), examples=MEMO, callback=rec)
    losses = [m["loss"] for m in rec.logs]
    assert len(losses) == 30 and rec.logs[-1]["step"] == 30
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert all(m["tokens_per_s"] > 0 and m["lr"] == pytest.approx(3e-3) for m in rec.logs[3:])
    assert rec.logs[0]["lr"] == pytest.approx(3e-3 / 3)  # linear warm-up, then constant
    assert "packed rows" in " ".join(result.notes)

    before = AutoModelForCausalLM.from_pretrained(base)
    after = AutoModelForCausalLM.from_pretrained(result.output_dir)
    AutoTokenizer.from_pretrained(result.output_dir)
    changed = [n for n, p in after.state_dict().items() if not torch.equal(p, before.state_dict()[n])]
    assert len(changed) >= len(before.state_dict()) // 2

    ckpt = ck.latest_checkpoint(result.output_dir)
    assert ckpt is not None and ckpt.name == "step-000030"
    saved = json.loads((ckpt / ck.TRAIN_CONFIG).read_text())
    assert saved["lr"] == 3e-3 and saved["steps"] == 30 and (ckpt / "model.safetensors").is_file()
    assert len(ck.checkpoint_dirs(result.output_dir)) == 2  # older ones pruned


def test_a_run_that_stops_resumes_from_its_last_checkpoint(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(tr.TrainingStopped):
        tr.train(config(base, out, steps=12, save_every=5), examples=MEMO, callback=Recorder(stop_at=7))
    stopped_at = ck.latest_checkpoint(out)
    assert stopped_at is not None and stopped_at.name == "step-000007"
    rec = Recorder()
    result = tr.train(config(base, out, steps=12, save_every=5), examples=MEMO, callback=rec)
    assert result.resumed_from == 7 and rec.info["start_step"] == 7
    assert [m["step"] for m in rec.logs] == [8, 9, 10, 11, 12]
    assert "resumed from step-000007" in result.notes

    # The resumed run continues the same trajectory as an uninterrupted one.
    straight = Recorder()
    tr.train(config(base, tmp_path / "straight", steps=12, save_every=5), examples=MEMO, callback=straight)
    assert [m["loss"] for m in straight.logs[7:]] == pytest.approx([m["loss"] for m in rec.logs], rel=1e-3)


def test_eval_loss_is_measured_on_a_held_out_split(base: Path, tmp_path: Path) -> None:
    rec = Recorder()
    pairs = [(f"Q{i}", f"A{i % 7}") for i in range(40)]
    tr.train(
        config(base, tmp_path / "o", steps=4, eval_every=2, eval_fraction=0.25), examples=pairs, callback=rec
    )
    assert rec.info["eval_examples"] == 10 and rec.info["train_examples"] == 30
    assert [m["step"] for m in rec.logs if "eval_loss" in m] == [2, 4]


def test_padded_batches_and_adafactor_also_train(base: Path, tmp_path: Path) -> None:
    rec = Recorder()
    result = tr.train(
        config(base, tmp_path / "o", steps=3, packing=False, optimizer="adafactor"),
        examples=MEMO,
        callback=rec,
    )
    assert "padded batches" in " ".join(result.notes)
    assert len(rec.logs) == 3


def test_an_encoder_decoder_trains_on_length_bucketed_batches(tmp_path: Path) -> None:
    base = save_tiny(tiny_seq2seq(seed=2), tmp_path / "t5")
    rec = Recorder()
    result = tr.train(config(base, tmp_path / "o", steps=3), examples=MEMO, callback=rec)
    assert result.kind == "seq2seq" and "length-bucketed" in " ".join(result.notes)
    assert (tmp_path / "o" / "model.safetensors").is_file()


def test_lora_trains_adapters_and_saves_a_merged_model(base: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    result = tr.train(config(base, tmp_path / "o", steps=3, lora=True, lora_r=4), examples=MEMO)
    assert any("LoRA" in n for n in result.notes)
    merged = AutoModelForCausalLM.from_pretrained(result.output_dir)
    assert not any("lora" in n for n in merged.state_dict())


def test_bad_hyperparameters_fail_before_anything_loads(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="optimizer"):
        tr.train(tr.TrainConfig(base="nowhere", output_dir=str(tmp_path), optimizer="sgd"), examples=MEMO)


def test_the_command_line_entry_for_accelerate_launch_trains_from_a_saved_config(
    base: Path, tmp_path: Path, capsys
) -> None:
    from dataclasses import asdict

    from finetune.mixture import DEMO_MIXTURE

    cfg = config(base, tmp_path / "out", mixture=str(DEMO_MIXTURE), steps=2, seq_len=128, num_examples=16)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(asdict(cfg)))
    assert launch.main([str(path)]) == 0
    assert "finished at step 2" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / ck.TRAIN_CONFIG).read_text())
    assert saved["steps"] == 2 and saved["mixture"] == str(DEMO_MIXTURE)
    assert (tmp_path / "out" / "config.json").exists()


def test_the_launch_entry_stops_at_a_step_once_its_stop_file_exists(
    base: Path, tmp_path: Path, capsys
) -> None:
    from dataclasses import asdict

    from finetune.mixture import DEMO_MIXTURE

    cfg = config(base, tmp_path / "out", mixture=str(DEMO_MIXTURE), steps=5, seq_len=128, num_examples=16)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(asdict(cfg)))
    (tmp_path / "STOP").touch()
    assert launch.main([str(path), "--stop-file", str(tmp_path / "STOP")]) == 0
    assert (
        "stopped at step 1; a checkpoint was saved: run the same command to resume" in capsys.readouterr().out
    )
    assert [p.name for p in ck.checkpoint_dirs(tmp_path / "out")] == ["step-000001"]
    assert not (tmp_path / "out" / "model.safetensors").exists()
