"""Tiny byte-level base models: a small Llama briefly pretrained as a plain language model.

The training loop is `finetune.train`'s, on examples with an empty input (all text is target).
The `pretrain_base` command and the demo use it; so do tests that need a base that has seen text.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from finetune import mixture as mixture_mod
from finetune.checkpoints import CHECKPOINTS
from finetune.train import TrainCallback, TrainConfig, train


def corpus_paragraphs(path: Path | str) -> list[str]:
    """The paragraphs of a text file (split on blank lines), stripped, empty ones dropped."""
    text = Path(path).read_text(encoding="utf-8")
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


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
