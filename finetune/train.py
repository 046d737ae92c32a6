"""The finetuning loop: accelerate, packing, checkpoints that resume, metrics through a callback.

No Django here: the job runner passes a callback that writes metrics into the FinetuneJob. Works
in-process (tests, ``--wait``), in a Celery worker, and under ``accelerate launch`` (``finetune.launch``;
each process takes its own share of every step's micro-batches). ``train`` reads as the run goes:
set up, load, build, resume, then step / log / evaluate / checkpoint (``finetune.checkpoints``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from finetune import mixture as mixture_mod
from finetune import packing, sharding
from finetune.checkpoints import (
    TRAIN_CONFIG,
    checkpoint_model_save,
    checkpoint_restore,
    checkpoint_save,
    checkpoint_step,
    latest_checkpoint,
    write_json,
)
from finetune.optimizer import optimizer_build
from finetune.train_types import TrainCallback, TrainConfig, TrainingStopped, TrainResult
from generation.model_kind import CAUSAL, SEQ2SEQ, kind_from_config


@dataclass
class Run:
    """What every step of a run needs: its config, the accelerator, and what the base model decided."""

    config: TrainConfig
    accelerator: Any
    kind: str
    precision: str
    tokenizer: Any
    pad_id: int
    flash: bool
    notes: list[str]

    @property
    def out(self) -> Path:
        return Path(self.config.output_dir)

    @property
    def main(self) -> bool:
        return bool(self.accelerator.is_main_process)

    def collate(self, units: Sequence[Any]) -> dict[str, Any]:
        batch = packing.collate_units(
            units,
            kind=self.kind,
            packed=self.config.packing,
            seq_len=self.config.seq_len,
            pad_id=self.pad_id,
            flash=self.flash,
            dtype=torch.bfloat16 if self.precision == "bf16" else torch.float32,
        )
        return {k: v.to(self.accelerator.device) for k, v in batch.items()}

    def target_tokens(self, batch: dict[str, Any]) -> int:
        # A causal model predicts token t+1 from t: its first label is never scored.
        labels = batch["labels"][:, 1:] if self.kind == CAUSAL else batch["labels"]
        return int((labels != packing.IGNORE).sum())


@dataclass
class Meter:
    """Target-token loss and throughput since the last log, summed over micro-batches."""

    started: float = field(default_factory=time.perf_counter)
    clock: float = field(default_factory=time.perf_counter)
    loss_sum: float = 0.0
    loss_tokens: int = 0
    real_tokens: int = 0


# --- the steps of a run, in order ----------------------------------------------------


def setup(config: TrainConfig) -> Run:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import AutoConfig, AutoTokenizer

    kind = config.kind or kind_from_config(AutoConfig.from_pretrained(config.base))
    precision = config.precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    sharding.accelerate_state_for(config.shard)
    plugin = sharding.fsdp_plugin() if config.shard == sharding.FSDP else None
    accelerator = Accelerator(mixed_precision=precision, fsdp_plugin=plugin)
    if plugin is not None:
        sharding.fsdp_required(accelerator)
    set_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(config.base)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    flash = kind == CAUSAL and config.packing and packing.flash_attention_available()
    if kind == SEQ2SEQ:
        notes = ["encoder-decoder: length-bucketed padded batches (no packing)"]
    elif not config.packing:
        notes = ["decoder-only: padded batches (packing off)"]
    elif flash:
        notes = ["decoder-only: packed rows, flash-attention varlen (restarting position ids)"]
    else:
        notes = ["decoder-only: packed rows, block-diagonal causal mask through SDPA"]
    if precision == "bf16":
        notes.append("bf16 mixed precision")
    if config.lora:
        notes.append(f"LoRA r={config.lora_r} alpha={config.lora_alpha} (merged into the saved model)")
    if accelerator.num_processes > 1:
        notes.append(f"{accelerator.num_processes} processes")
    if plugin is not None:
        notes.append("FSDP full shard, activation checkpointing, gathered checkpoints")
    return Run(config, accelerator, kind, precision, tokenizer, pad_id, flash, notes)


def resume_point(run: Run, *, resume: bool) -> tuple[Path | None, int]:
    checkpoint = latest_checkpoint(run.out) if resume else None
    if checkpoint is None:
        return None, 0
    run.notes.append(f"resumed from {checkpoint.name}")
    return checkpoint, checkpoint_step(checkpoint)


def load_model(run: Run, *, weights_from: Path | None) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    config = run.config
    cls = AutoModelForSeq2SeqLM if run.kind == SEQ2SEQ else AutoModelForCausalLM
    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if run.kind == CAUSAL:
        kwargs["attn_implementation"] = "flash_attention_2" if run.flash else "sdpa"
    if not config.lora:
        return cls.from_pretrained(str(weights_from) if weights_from is not None else config.base, **kwargs)
    from peft import LoraConfig, PeftModel, get_peft_model

    model = cls.from_pretrained(config.base, **kwargs)
    if weights_from is not None:
        return PeftModel.from_pretrained(model, str(weights_from), is_trainable=True)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        target_modules="all-linear",
        task_type="SEQ_2_SEQ_LM" if run.kind == SEQ2SEQ else "CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def load_data(run: Run, examples: Sequence[tuple[str, str]] | None) -> packing.TrainData:
    """The mixture rendered for the run's seed (or the given pairs), split and batched."""
    config = run.config
    if examples is not None:
        pairs = [(inp, tgt, "\n") for inp, tgt in examples]
    elif config.mixture:
        mix = mixture_mod.load_mixture(config.mixture)
        rendered = mixture_mod.sample_mixture(mix, config.num_examples, seed=config.seed)
        pairs = [(r.input, r.target, r.separator) for r in rendered]
    else:
        raise ValueError("TrainConfig.mixture or examples is needed")
    data = packing.train_data(
        run.tokenizer,
        pairs,
        kind=run.kind,
        seq_len=config.seq_len,
        batch_size=config.batch_size,
        packed=config.packing,
        seed=config.seed,
        eval_fraction=config.eval_fraction,
        max_eval=config.max_eval_examples,
    )
    if data.efficiency is not None:
        run.notes.append(f"packing efficiency {data.efficiency:.3f} ({len(data.train_units)} rows)")
    return data


def announce(run: Run, callback: TrainCallback, data: packing.TrainData, start_step: int) -> None:
    if not run.main:
        return
    run.out.mkdir(parents=True, exist_ok=True)
    write_json(run.out / TRAIN_CONFIG, asdict(run.config))
    callback.on_start(
        {
            "total_steps": run.config.steps,
            "start_step": start_step,
            "notes": run.notes,
            "kind": run.kind,
            "packing_efficiency": data.efficiency,
            "train_examples": data.train_examples,
            "eval_examples": data.eval_examples,
        }
    )


def train_step(
    run: Run, model: Any, optimizer: Any, scheduler: Any, data: packing.TrainData, step: int, meter: Meter
) -> float:
    """One optimizer step over this process's micro-batches; returns the learning rate it used."""
    config, accelerator = run.config, run.accelerator
    world, rank = accelerator.num_processes, accelerator.process_index
    for micro in range(config.grad_accum):
        # Every process draws its own positions of one shared stream: same data however it resumes.
        g = (step * config.grad_accum + micro) * world + rank
        idx = packing.unit_indices(
            len(data.train_units), config.seed, g * data.unit_per_micro, data.unit_per_micro
        )
        batch = run.collate([data.train_units[i] for i in idx])
        last = micro == config.grad_accum - 1
        sync = contextlib.nullcontext() if last or world == 1 else accelerator.no_sync(model)
        with sync:
            # No cache in training: a checkpointed block recomputed in backward would append to it again.
            loss = model(**batch, use_cache=False).loss
            accelerator.backward(loss / config.grad_accum)
        n_tgt = run.target_tokens(batch)
        meter.loss_sum += float(loss.detach()) * n_tgt
        meter.loss_tokens += n_tgt
        if run.kind == SEQ2SEQ:
            meter.real_tokens += int(batch["attention_mask"].sum()) + n_tgt
        elif config.packing:
            meter.real_tokens += sum(data.train_units[i].real_tokens for i in idx)
        else:
            meter.real_tokens += int(batch["attention_mask"].sum())
    if config.max_grad_norm > 0:
        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
    lr = float(scheduler.get_last_lr()[0])
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return lr


def measure(run: Run, meter: Meter, step: int, lr: float) -> dict[str, Any]:
    """The metrics entry since the last one, summed over processes (every process calls it)."""
    now, device = time.perf_counter(), run.accelerator.device
    stats = torch.tensor([meter.loss_sum, meter.loss_tokens, meter.real_tokens], dtype=torch.float64)
    stats = run.accelerator.reduce(stats.to(device), reduction="sum")
    entry = {
        "step": step,
        "total_steps": run.config.steps,
        "loss": round(float(stats[0] / max(stats[1], 1)), 5),
        "lr": lr,
        "tokens_per_s": round(float(stats[2]) / max(now - meter.clock, 1e-9), 1),
        "elapsed_s": round(now - meter.started, 2),
    }
    meter.loss_sum, meter.loss_tokens, meter.real_tokens = 0.0, 0, 0
    meter.clock = now
    return entry


def evaluate(run: Run, model: Any, data: packing.TrainData) -> float | None:
    """Mean target-token loss on the held-out units (each process scores all of them)."""
    if not data.eval_units:
        return None
    model.eval()
    total, count = 0.0, 0
    size = data.unit_per_micro
    with torch.no_grad():
        for i in range(0, len(data.eval_units), size):
            batch = run.collate(data.eval_units[i : i + size])
            n = run.target_tokens(batch)
            total += float(model(**batch).loss) * n
            count += n
    model.train()
    return total / count if count else None


def stop_agreed(run: Run, callback: TrainCallback) -> bool:
    """The main process's callback decides; every process gets the answer at the same step.

    A stop seen by the main process alone sent it into the checkpoint's barrier while the
    others entered the next step's gradient all-reduce: the run hung.
    """
    wanted = run.main and callback.should_stop()
    if run.accelerator.num_processes == 1:
        return wanted
    flag = torch.tensor([1.0 if wanted else 0.0], device=run.accelerator.device)
    return bool(run.accelerator.reduce(flag, reduction="sum").item() > 0)


def save_checkpoint(run: Run, model: Any, optimizer: Any, scheduler: Any, step: int) -> None:
    """Every process calls it; the main one writes; all return once the checkpoint is in place."""
    accelerator = run.accelerator
    accelerator.wait_for_everyone()
    # Gathering a sharded run's state is collective: every process takes part.
    weights, optimizer_state = (
        sharding.gathered(model, optimizer) if run.config.shard == "fsdp" else (None, None)
    )
    if run.main:
        checkpoint_save(
            run.out,
            step,
            model=accelerator.unwrap_model(model),
            optimizer=optimizer,
            scheduler=scheduler,
            state_dict=weights,
            optimizer_state=optimizer_state,
            train_config=asdict(run.config),
            state={"step": step, "kind": run.kind, "notes": run.notes},
            keep=run.config.keep_checkpoints,
        )
    accelerator.wait_for_everyone()


def save_final(run: Run, model: Any) -> None:
    """The model generation loads (LoRA merged in), its tokenizer and the run's config."""
    weights = sharding.full_state_dict(model) if run.config.shard == sharding.FSDP else None
    if not run.main:
        return
    final = run.accelerator.unwrap_model(model)
    if run.config.lora:
        final = final.merge_and_unload()
    checkpoint_model_save(final, run.out, state_dict=weights)
    run.tokenizer.save_pretrained(run.out)  # train_config.json is there since the start


# --- the run -------------------------------------------------------------------------


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
    config.validate()
    callback = callback or TrainCallback()
    run = setup(config)
    checkpoint, start_step = resume_point(run, resume=resume)
    model = load_model(run, weights_from=checkpoint)
    data = load_data(run, examples)
    optimizer, scheduler = optimizer_build(config, model)
    model, optimizer, scheduler = run.accelerator.prepare(model, optimizer, scheduler)
    if checkpoint is not None:
        shard_back = functools.partial(sharding.load_full_optimizer_state, model, optimizer)
        load = shard_back if config.shard == sharding.FSDP else None
        checkpoint_restore(checkpoint, optimizer=optimizer, scheduler=scheduler, load_optimizer_state=load)
    announce(run, callback, data, start_step)

    metrics: list[dict[str, Any]] = []
    meter = Meter()
    model.train()
    step = start_step
    while step < config.steps:
        lr = train_step(run, model, optimizer, scheduler, data, step, meter)
        step += 1
        entry = measure(run, meter, step, lr) if config.due(step, config.log_interval()) else None
        if config.due(step, config.eval_every):
            eval_loss = evaluate(run, model, data)
            if eval_loss is not None:
                entry = entry or {"step": step, "total_steps": config.steps}
                entry["eval_loss"] = round(eval_loss, 5)
            meter.clock = time.perf_counter()  # evaluation time is not training throughput
        if entry is not None:
            if not all(math.isfinite(v) for k, v in entry.items() if k in ("loss", "eval_loss")):
                raise FloatingPointError(f"non-finite loss at step {step}: {entry}")
            metrics.append(entry)
            if run.main:
                callback.on_log(entry)
        stop = step < config.steps and stop_agreed(run, callback)
        if stop or (step % config.save_every == 0 and step < config.steps):
            save_checkpoint(run, model, optimizer, scheduler, step)
        if stop:
            raise TrainingStopped(step)

    save_checkpoint(run, model, optimizer, scheduler, step)
    save_final(run, model)
    return TrainResult(
        output_dir=run.out,
        step=step,
        kind=run.kind,
        metrics=metrics,
        notes=run.notes,
        resumed_from=start_step,
        packing_efficiency=data.efficiency,
    )
