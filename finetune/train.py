"""The finetuning loop: accelerate, packing, checkpoints that resume, metrics through a callback.

No Django here: the job service passes a callback that writes metrics into the FinetuneJob.
Works in-process (tests, ``--wait``), in a Celery worker, and under ``accelerate launch``
for several GPUs (each process takes its own share of every step's micro-batches).

Layout of ``output_dir``::

    config.json, model.safetensors, tokenizer files   the final model (generation loads this)
    train_config.json                                 the full TrainConfig of the run
    checkpoints/step-000050/                          weights + train_config.json +
                                                      trainer_state.json + optimizer.pt + scheduler.pt

Plain language-model pretraining is the same loop on examples with an empty input (the
text is the target): see ``pretrain_tiny_base``.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from finetune import mixture as mixture_mod
from finetune import packing

CHECKPOINTS = "checkpoints"
TRAIN_CONFIG = "train_config.json"
TRAINER_STATE = "trainer_state.json"


@dataclass
class TrainConfig:
    base: str
    output_dir: str
    mixture: str | None = None
    kind: str = ""  # "causal" | "seq2seq"; empty: read from the model config
    steps: int = 100
    batch_size: int = 8
    seq_len: int = 512
    lr: float = 1e-4
    warmup: int = 10
    grad_accum: int = 1
    optimizer: str = "adamw"  # or "adafactor"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    eval_every: int = 50
    save_every: int = 100
    log_every: int = 0  # 0: about 50 logs over the run
    seed: int = 0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    packing: bool = True
    num_examples: int | None = None  # rendered from the mixture; default: sum of capped sizes
    eval_fraction: float = 0.05
    max_eval_examples: int = 200
    keep_checkpoints: int = 2
    precision: str = "auto"  # "auto" (bf16 on a GPU that has it), "bf16", "no"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        for name in ("steps", "batch_size", "seq_len", "grad_accum", "eval_every", "save_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.seq_len < 8:
            raise ValueError("seq_len must be at least 8")
        if not self.lr > 0:
            raise ValueError("lr must be positive")
        if self.warmup < 0:
            raise ValueError("warmup must be >= 0")
        if self.optimizer not in ("adamw", "adafactor"):
            raise ValueError(f"optimizer must be adamw or adafactor, not {self.optimizer!r}")
        if self.kind not in ("", "causal", "seq2seq"):
            raise ValueError(f"kind must be causal or seq2seq, not {self.kind!r}")


class TrainCallback:
    """Hooks the loop calls on the main process; the default does nothing."""

    def on_start(self, info: dict[str, Any]) -> None:
        """``info``: total_steps, start_step, notes, packing_efficiency, examples."""

    def on_log(self, metrics: dict[str, Any]) -> None:
        """``metrics``: step, total_steps, loss, lr, tokens_per_s, elapsed_s (+ eval_loss)."""

    def should_stop(self) -> bool:
        return False


class TrainingStopped(Exception):
    """The callback asked to stop; a checkpoint was saved first."""


@dataclass
class TrainResult:
    output_dir: Path
    step: int
    kind: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resumed_from: int = 0
    packing_efficiency: float | None = None


# --- checkpoints ---------------------------------------------------------------------


def checkpoint_dirs(output_dir: Path | str) -> list[Path]:
    root = Path(output_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if (p / TRAINER_STATE).is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(output_dir: Path | str) -> Path | None:
    dirs = checkpoint_dirs(output_dir)
    return dirs[-1] if dirs else None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


# --- data ----------------------------------------------------------------------------


@dataclass
class _Data:
    train_units: list[Any]  # PackedRow, TokenizedExample or a list of Seq2SeqExample
    eval_units: list[Any]
    train_examples: int
    eval_examples: int
    efficiency: float | None
    unit_per_micro: int  # how many units make one micro-batch


def _render(config: TrainConfig, examples: Sequence[tuple[str, str]] | None) -> list[tuple[str, str, str]]:
    if examples is not None:
        return [(inp, tgt, "\n") for inp, tgt in examples]
    if not config.mixture:
        raise ValueError("TrainConfig.mixture or examples is needed")
    mix = mixture_mod.load_mixture(config.mixture)
    rendered = mixture_mod.sample_mixture(mix, config.num_examples, seed=config.seed)
    return [(r.input, r.target, r.separator) for r in rendered]


def _build_data(config: TrainConfig, kind: str, tokenizer: Any, pairs: list[tuple[str, str, str]]) -> _Data:
    order = list(range(len(pairs)))
    random.Random(f"split:{config.seed}").shuffle(order)
    n_eval = 0
    if len(pairs) > 1 and config.eval_fraction > 0:
        n_eval = min(config.max_eval_examples, max(1, int(len(pairs) * config.eval_fraction)))
    eval_pairs = [pairs[i] for i in order[:n_eval]]
    train_pairs = [pairs[i] for i in order[n_eval:]]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    del pad
    if kind == "seq2seq":
        tr = [packing.tokenize_seq2seq(tokenizer, i, t, max_len=config.seq_len) for i, t, _ in train_pairs]
        ev = [packing.tokenize_seq2seq(tokenizer, i, t, max_len=config.seq_len) for i, t, _ in eval_pairs]
        tb = [[tr[i] for i in b] for b in packing.bucket_batches(tr, config.batch_size, seed=config.seed)]
        eb = [[ev[i] for i in b] for b in packing.bucket_batches(ev, config.batch_size, seed=config.seed)]
        return _Data(tb, eb, len(tr), len(ev), None, 1)
    tr_c = [
        packing.tokenize_causal(tokenizer, i, t, max_len=config.seq_len, separator=s)
        for i, t, s in train_pairs
    ]
    ev_c = [
        packing.tokenize_causal(tokenizer, i, t, max_len=config.seq_len, separator=s)
        for i, t, s in eval_pairs
    ]
    tr_c = [e for e in tr_c if e.target_tokens]
    ev_c = [e for e in ev_c if e.target_tokens]
    if not tr_c:
        raise ValueError("no training example has a target token")
    if config.packing:
        rows = packing.pack(tr_c, config.seq_len)
        return _Data(
            rows,
            packing.pack(ev_c, config.seq_len),
            len(tr_c),
            len(ev_c),
            packing.packing_efficiency(rows, config.seq_len),
            config.batch_size,
        )
    return _Data(tr_c, ev_c, len(tr_c), len(ev_c), None, config.batch_size)


def _unit_indices(n_units: int, seed: int, start: int, count: int) -> list[int]:
    """Positions [start, start+count) of an endless stream of per-epoch shuffles."""
    out = []
    cache: dict[int, list[int]] = {}
    for p in range(start, start + count):
        epoch, k = divmod(p, n_units)
        if epoch not in cache:
            perm = list(range(n_units))
            random.Random(f"epoch:{seed}:{epoch}").shuffle(perm)
            cache[epoch] = perm
        out.append(cache[epoch][k])
    return out


def _collate(
    units: list[Any], kind: str, config: TrainConfig, pad_id: int, *, flash: bool, dtype: Any
) -> dict[str, Any]:
    if kind == "seq2seq":
        return packing.collate_seq2seq([e for u in units for e in u], pad_id=pad_id)
    if config.packing:
        return packing.collate_packed(units, config.seq_len, pad_id=pad_id, with_mask=not flash, dtype=dtype)
    return packing.collate_padded(units, pad_id=pad_id)


# --- the loop ------------------------------------------------------------------------


def _load_model(
    base: str, kind: str, *, attn: str | None, weights_from: Path | None, config: TrainConfig
) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cls = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if attn:
        kwargs["attn_implementation"] = attn
    if config.lora:
        from peft import LoraConfig, PeftModel, get_peft_model

        model = cls.from_pretrained(base, **kwargs)
        if weights_from is not None:
            return PeftModel.from_pretrained(model, str(weights_from), is_trainable=True)
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            target_modules="all-linear",
            task_type="SEQ_2_SEQ_LM" if kind == "seq2seq" else "CAUSAL_LM",
        )
        return get_peft_model(model, lora)
    return cls.from_pretrained(str(weights_from) if weights_from is not None else base, **kwargs)


def _make_optimizer(model: Any, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(
            params,
            lr=config.lr,
            scale_parameter=False,
            relative_step=False,
            warmup_init=False,
            weight_decay=config.weight_decay,
        )
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def train(
    config: TrainConfig,
    *,
    examples: Sequence[tuple[str, str]] | None = None,
    callback: TrainCallback | None = None,
    resume: bool = True,
) -> TrainResult:
    """Finetune ``config.base`` on ``config.mixture`` (or on ``examples``) and save to ``output_dir``.

    Resumes from the latest checkpoint in ``output_dir`` when there is one (``resume``).
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import AutoConfig, AutoTokenizer

    config.validate()
    callback = callback or TrainCallback()
    out = Path(config.output_dir)
    notes: list[str] = []
    model_config = AutoConfig.from_pretrained(config.base)
    kind = config.kind or ("seq2seq" if getattr(model_config, "is_encoder_decoder", False) else "causal")

    precision = config.precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    accelerator = Accelerator(mixed_precision=precision)
    main = accelerator.is_main_process
    set_seed(config.seed)

    tokenizer = AutoTokenizer.from_pretrained(config.base)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    flash = kind == "causal" and config.packing and packing.flash_attention_available()
    if kind == "seq2seq":
        notes.append("encoder-decoder: length-bucketed padded batches (no packing)")
    elif not config.packing:
        notes.append("decoder-only: padded batches (packing off)")
    elif flash:
        notes.append("decoder-only: packed rows, flash-attention varlen (restarting position ids)")
    else:
        notes.append("decoder-only: packed rows, block-diagonal causal mask through SDPA")
    if precision == "bf16":
        notes.append("bf16 mixed precision")
    if config.lora:
        notes.append(f"LoRA r={config.lora_r} alpha={config.lora_alpha} (merged into the saved model)")
    if accelerator.num_processes > 1:
        notes.append(f"{accelerator.num_processes} processes")

    ckpt = latest_checkpoint(out) if resume else None
    start_step = 0
    if ckpt is not None:
        start_step = json.loads((ckpt / TRAINER_STATE).read_text())["step"]
        notes.append(f"resumed from {ckpt.name}")
    attn = ("flash_attention_2" if flash else "sdpa") if kind == "causal" else None
    model = _load_model(config.base, kind, attn=attn, weights_from=ckpt, config=config)

    pairs = _render(config, examples)
    data = _build_data(config, kind, tokenizer, pairs)
    if data.efficiency is not None:
        notes.append(f"packing efficiency {data.efficiency:.3f} ({len(data.train_units)} rows)")

    optimizer = _make_optimizer(model, config)
    warmup = config.warmup
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup > 0 else 1.0
    )
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    if ckpt is not None:
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True))
        scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", map_location="cpu", weights_only=True))
    mask_dtype = torch.bfloat16 if precision == "bf16" else torch.float32

    if main:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / TRAIN_CONFIG, asdict(config))
        callback.on_start(
            {
                "total_steps": config.steps,
                "start_step": start_step,
                "notes": notes,
                "kind": kind,
                "packing_efficiency": data.efficiency,
                "train_examples": data.train_examples,
                "eval_examples": data.eval_examples,
            }
        )

    def save_checkpoint(step: int) -> None:
        accelerator.wait_for_everyone()
        if not main:
            return
        final = out / CHECKPOINTS / f"step-{step:06d}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        accelerator.unwrap_model(model).save_pretrained(tmp)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        _write_json(tmp / TRAIN_CONFIG, asdict(config))
        _write_json(tmp / TRAINER_STATE, {"step": step, "kind": kind, "notes": notes})
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for old in checkpoint_dirs(out)[: -config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)

    def evaluate() -> float | None:
        if not data.eval_units:
            return None
        model.eval()
        total, count = 0.0, 0
        size = data.unit_per_micro
        with torch.no_grad():
            for i in range(0, len(data.eval_units), size):
                batch = _collate(
                    data.eval_units[i : i + size], kind, config, pad_id, flash=flash, dtype=mask_dtype
                )
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                n = (
                    int((batch["labels"][:, 1:] != packing.IGNORE).sum())
                    if kind == "causal"
                    else int((batch["labels"] != packing.IGNORE).sum())
                )
                total += float(model(**batch).loss) * n
                count += n
        model.train()
        return total / count if count else None

    log_every = config.log_every or max(1, config.steps // 50)
    world, rank = accelerator.num_processes, accelerator.process_index
    n_units = len(data.train_units)
    metrics: list[dict[str, Any]] = []
    loss_sum, loss_tokens, real_tokens = 0.0, 0, 0
    clock = time.perf_counter()
    started = clock
    model.train()
    step = start_step
    while step < config.steps:
        for micro in range(config.grad_accum):
            g = (step * config.grad_accum + micro) * world + rank
            idx = _unit_indices(n_units, config.seed, g * data.unit_per_micro, data.unit_per_micro)
            batch = _collate(
                [data.train_units[i] for i in idx], kind, config, pad_id, flash=flash, dtype=mask_dtype
            )
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            last = micro == config.grad_accum - 1
            sync = contextlib.nullcontext() if last or world == 1 else accelerator.no_sync(model)
            with sync:
                loss = model(**batch).loss
                accelerator.backward(loss / config.grad_accum)
            shifted = batch["labels"][:, 1:] if kind == "causal" else batch["labels"]
            n_tgt = int((shifted != packing.IGNORE).sum())
            loss_sum += float(loss.detach()) * n_tgt
            loss_tokens += n_tgt
            if kind == "seq2seq":
                real_tokens += int(batch["attention_mask"].sum()) + int(
                    (batch["labels"] != packing.IGNORE).sum()
                )
            elif config.packing:
                real_tokens += sum(data.train_units[i].real_tokens for i in idx)
            else:
                real_tokens += int(batch["attention_mask"].sum())
        if config.max_grad_norm > 0:
            accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        step_lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1

        entry: dict[str, Any] | None = None
        if step % log_every == 0 or step == config.steps:
            now = time.perf_counter()
            stats = torch.tensor(
                [loss_sum, loss_tokens, real_tokens], dtype=torch.float64, device=accelerator.device
            )
            stats = accelerator.reduce(stats, reduction="sum")
            entry = {
                "step": step,
                "total_steps": config.steps,
                "loss": round(float(stats[0] / max(stats[1], 1)), 5),
                "lr": step_lr,
                "tokens_per_s": round(float(stats[2]) / max(now - clock, 1e-9), 1),
                "elapsed_s": round(now - started, 2),
            }
            loss_sum, loss_tokens, real_tokens = 0.0, 0, 0
            clock = now
        if step % config.eval_every == 0 or step == config.steps:
            eval_loss = evaluate()
            if eval_loss is not None:
                entry = entry or {"step": step, "total_steps": config.steps}
                entry["eval_loss"] = round(eval_loss, 5)
            clock = time.perf_counter()  # evaluation time is not training throughput
        if entry is not None:
            if not all(math.isfinite(v) for k, v in entry.items() if k in ("loss", "eval_loss")):
                raise FloatingPointError(f"non-finite loss at step {step}: {entry}")
            metrics.append(entry)
            if main:
                callback.on_log(entry)
        if step % config.save_every == 0 and step < config.steps:
            save_checkpoint(step)
        if main and step < config.steps and callback.should_stop():
            save_checkpoint(step)
            raise TrainingStopped(f"stopped at step {step}; a checkpoint was saved")

    save_checkpoint(step)
    accelerator.wait_for_everyone()
    if main:
        final = accelerator.unwrap_model(model)
        if config.lora:
            final = final.merge_and_unload()
        final.save_pretrained(out)
        tokenizer.save_pretrained(out)
        _write_json(out / TRAIN_CONFIG, asdict(config))
    return TrainResult(
        output_dir=out,
        step=step,
        kind=kind,
        metrics=metrics,
        notes=notes,
        resumed_from=start_step,
        packing_efficiency=data.efficiency,
    )


# --- tiny base models for the demo ---------------------------------------------------


def demo_texts() -> list[str]:
    """Plain text made from the bundled demo tasks, for briefly pretraining a tiny base."""
    mix = mixture_mod.load_mixture(mixture_mod.DEMO_MIXTURE)
    texts = []
    for task in mix.tasks:
        fields_ = mix.task_types[task.type].fields
        for row in task.examples()[: task.cap]:
            parts = [str(row[f]) for f in fields_]
            if row.get("rationale"):
                parts.append(str(row["rationale"]))
            parts.append(str(row["answer"]))
            texts.append(" ".join(parts))
    return texts


def pretrain_tiny_base(
    out_dir: Path | str,
    texts: Sequence[str],
    *,
    steps: int = 200,
    seq_len: int = 256,
    batch_size: int = 8,
    lr: float = 1e-3,
    seed: int = 0,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    callback: TrainCallback | None = None,
) -> Path:
    """Build a tiny byte-level Llama and pretrain it as a plain language model on ``texts``.

    Each text becomes an example with an empty input (all of it is target), cut into
    pieces that fit a row. Returns ``out_dir``, a directory generation can load.
    """
    from generation.tiny import save_tiny, tiny_causal

    out = Path(out_dir)
    init = out.parent / f".{out.name}-init"
    save_tiny(tiny_causal(seed=seed, hidden=hidden, layers=layers, heads=heads), init)
    piece = max(8, seq_len - 2)
    examples = [
        ("", t[i : i + piece]) for t in texts for i in range(0, len(t), piece) if t[i : i + piece].strip()
    ]
    try:
        train(
            TrainConfig(
                base=str(init),
                output_dir=str(out),
                steps=steps,
                batch_size=batch_size,
                seq_len=seq_len,
                lr=lr,
                warmup=min(20, steps // 10),
                eval_every=max(1, steps // 4),
                save_every=steps,
                seed=seed,
            ),
            examples=examples,
            callback=callback,
            resume=False,
        )
    finally:
        shutil.rmtree(init, ignore_errors=True)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """``accelerate launch -m finetune.train CONFIG.json``: one run across all the launched processes.

    CONFIG.json holds a TrainConfig (the ``train_config.json`` a run saves beside its weights has
    this shape, so a run can be repeated or resumed from it). Register the result afterwards with
    ``manage.py register_model NAME --path OUTPUT_DIR``.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m finetune.train", description=main.__doc__)
    parser.add_argument("config", help="a JSON file holding a TrainConfig")
    parser.add_argument("--no-resume", action="store_true", help="start over even if checkpoints exist")
    args = parser.parse_args(argv)
    config = TrainConfig.from_dict(json.loads(Path(args.config).read_text()))
    result = train(config, resume=not args.no_resume)
    print(f"finished at step {result.step}: {config.output_dir}")


if __name__ == "__main__":
    main()
