"""Packed against padded batches on the demo mixture: real (non-pad) tokens per second.

    python bench/finetune.py [--steps 12] [--batch-rows 4] [--seq-len 512] [--threads 1]

Both sides train the same model (same initial weights, AdamW, same number of steps) on the
same rendered demo examples. Packed: rows of ``seq-len`` tokens, block-diagonal causal mask.
Padded: the usual dynamic padding, batches of examples in mixture order padded to the longest,
with as many examples per batch as a packed batch holds on average (so both see the same
number of examples per step). Steps alternate between the two so a noisy machine hurts both
alike, and the figures are medians over steps. On a GPU the model is a ~150M-parameter Llama built from a config (bf16 autocast) and
MFU is reported. The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from finetune import mixture as mixture_mod
from finetune import packing
from generation.tiny import BYTE_VOCAB, byte_tokenizer, tiny_causal

PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def build_model(device: str) -> LlamaForCausalLM:
    if device == "cuda":
        torch.manual_seed(0)
        config = LlamaConfig(
            vocab_size=BYTE_VOCAB,
            hidden_size=1024,
            intermediate_size=2816,
            num_hidden_layers=12,
            num_attention_heads=16,
            num_key_value_heads=16,
            max_position_embeddings=4096,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=1,
        )
        return LlamaForCausalLM(config).to(device)  # type: ignore[arg-type]
    return tiny_causal(seed=0, hidden=128, layers=4, heads=4, attn_implementation="sdpa")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--steps", type=int, default=0, help="measured steps per side (default 12 CPU, 30 GPU)"
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--batch-rows", type=int, default=0, help="packed rows per step (default 4 CPU, 16 GPU)"
    )
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest for a tiny model)")
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(args.threads)
    steps = args.steps or (30 if device == "cuda" else 12)
    rows_per_step = args.batch_rows or (16 if device == "cuda" else 4)
    seq = args.seq_len

    tok = byte_tokenizer()
    mix = mixture_mod.load_mixture(mixture_mod.DEMO_MIXTURE)
    rendered = mixture_mod.sample_mixture(mix, args.examples, seed=0)
    examples = [
        packing.tokenize_causal(tok, r.input, r.target, max_len=seq, separator=r.separator) for r in rendered
    ]
    rows = packing.pack(examples, seq)
    efficiency = packing.packing_efficiency(rows, seq)
    per_row = len(examples) / len(rows)
    pad_batch = max(1, round(per_row * rows_per_step))
    padded_batches = [examples[i : i + pad_batch] for i in range(0, len(examples) - pad_batch + 1, pad_batch)]
    padded_eff = packing.padded_efficiency(padded_batches)

    base = build_model(device)
    state = {k: v.detach().clone() for k, v in base.state_dict().items()}
    models: dict[str, LlamaForCausalLM] = {}
    opts: dict[str, torch.optim.Optimizer] = {}
    for mode in ("packed", "padded"):
        model = build_model(device)
        model.load_state_dict(state)
        model.train()
        models[mode] = model
        opts[mode] = torch.optim.AdamW(model.parameters(), lr=1e-4)
    n_params = sum(p.numel() for p in base.parameters())
    del base
    amp = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device == "cuda"
        else torch.autocast("cpu", enabled=False)
    )
    mask_dtype = torch.bfloat16 if device == "cuda" else torch.float32

    def batch_for(mode: str, i: int) -> tuple[dict[str, torch.Tensor], int]:
        if mode == "packed":
            chosen = [rows[(i * rows_per_step + k) % len(rows)] for k in range(rows_per_step)]
            b = packing.collate_packed(chosen, seq, pad_id=0, dtype=mask_dtype)
            real = sum(r.real_tokens for r in chosen)
        else:
            b = packing.collate_padded(padded_batches[i % len(padded_batches)], pad_id=0)
            real = int(b["attention_mask"].sum())
        return {k: v.to(device, non_blocking=True) for k, v in b.items()}, real

    def step(mode: str, i: int) -> tuple[float, int, float]:
        batch, real = batch_for(mode, i)
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with amp:
            loss = models[mode](**batch).loss
        loss.backward()
        opts[mode].step()
        opts[mode].zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t, real, float(loss.detach())

    for i in range(args.warmup):
        for mode in ("packed", "padded"):
            step(mode, i)
    rates: dict[str, list[float]] = {"packed": [], "padded": []}
    losses: dict[str, list[float]] = {"packed": [], "padded": []}
    for i in range(args.warmup, args.warmup + steps):
        for mode in ("packed", "padded") if i % 2 == 0 else ("padded", "packed"):
            dt, real, loss = step(mode, i)
            rates[mode].append(real / dt)
            losses[mode].append(loss)
    # Medians: a shared machine stalls now and then, and a stall should not decide the ratio.
    packed_tok_s = statistics.median(rates["packed"])
    padded_tok_s = statistics.median(rates["padded"])
    speedup = statistics.median(p / q for p, q in zip(rates["packed"], rates["padded"], strict=True))

    print(
        f"device={device} params={n_params / 1e6:.1f}M seq_len={seq} examples={len(examples)} rows={len(rows)}"
    )
    print(
        f"packed: {rows_per_step} rows/step ({per_row:.2f} examples/row), efficiency {efficiency:.4f}, "
        f"{packed_tok_s:,.0f} real tok/s, mean loss {statistics.mean(losses['packed']):.3f}"
    )
    print(
        f"padded: {pad_batch} examples/step padded to the longest, efficiency {padded_eff:.4f}, "
        f"{padded_tok_s:,.0f} real tok/s, mean loss {statistics.mean(losses['padded']):.3f}"
    )
    figures = {
        "speedup": f"{speedup:.2f}",
        "packed_tok_s": f"{packed_tok_s:.0f}",
        "padded_tok_s": f"{padded_tok_s:.0f}",
        "packing_efficiency": f"{efficiency:.4f}",
        "padded_efficiency": f"{padded_eff:.4f}",
        "steps": str(steps),
        "params_m": f"{n_params / 1e6:.1f}",
    }
    if device == "cuda":
        name = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
        cfg = models["packed"].config
        # 6N per token for the dense layers plus causal attention over the mean example
        # length (12·layers·width·T halved for causality), forward and backward.
        mean_len = seq * efficiency / per_row
        attn_per_token = 6 * cfg.num_hidden_layers * cfg.hidden_size * mean_len
        flops_per_token = 6 * n_params + attn_per_token
        if peak:
            figures["mfu_packed"] = f"{packed_tok_s * flops_per_token / peak:.3f}"
            figures["mfu_padded"] = f"{padded_tok_s * flops_per_token / peak:.3f}"
            figures["mfu"] = figures["mfu_packed"]
        figures["gpu"] = name.replace(" ", "_")
    figures.setdefault("mfu", "na")  # no peak figure for a CPU (or an unknown GPU)
    figures["device"] = device
    figures["threads"] = str(torch.get_num_threads() if device == "cpu" else os.cpu_count())
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
