"""Turning rendered (input, target) pairs into training batches.

Decoder-only: examples are packed into fixed-length rows (best-fit decreasing); position ids
restart at each example and a block-diagonal causal mask keeps examples from attending to
each other (4D float mask for SDPA: 0 allowed, -inf elsewhere). On a GPU with flash-attn,
passing only the restarting position ids lets transformers take flash-attention's varlen
path instead. Labels are -100 everywhere but target tokens.

Encoder-decoder: length-bucketed padded batches (packing an encoder-decoder needs masks on
both sides and the cross-attention; buckets keep padding low without that risk).

torch is imported inside functions so this module can be imported (e.g. for types) cheaply.
"""

from __future__ import annotations

import bisect
import importlib.util
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

IGNORE = -100


@dataclass
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def target_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


@dataclass
class PackedRow:
    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    position_ids: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)  # real examples, in order
    members: list[int] = field(default_factory=list)  # indices of the packed examples

    @property
    def real_tokens(self) -> int:
        return sum(self.lengths)


def _encode(tokenizer: Any, text: str) -> list[int]:
    if not text:
        return []
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def tokenize_causal(
    tokenizer: Any, input_text: str, target_text: str, *, max_len: int, separator: str = "\n"
) -> TokenizedExample:
    """Input tokens (no loss) then separator + target + EOS (loss), cut to ``max_len``.

    The separator belongs to the target so the model learns to open its answer the way
    it was shown; an empty input gives plain language modelling on the target.
    """
    bos = getattr(tokenizer, "bos_token_id", None)
    eos = tokenizer.eos_token_id
    inp = _encode(tokenizer, input_text)
    if bos is not None and bos != eos:
        inp = [bos, *inp]
    tgt = _encode(tokenizer, (separator + target_text) if input_text else target_text)
    if eos is not None:
        tgt.append(eos)
    if len(inp) + len(tgt) > max_len:
        # Keep the end of the input (the question sits there in few-shot prompts) and as
        # much of the target as fits.
        keep_in = min(len(inp), max(max_len // 2, max_len - len(tgt)))
        inp = inp[len(inp) - keep_in :] if keep_in else []
        tgt = tgt[: max_len - len(inp)]
    ids = inp + tgt
    labels = [IGNORE] * len(inp) + tgt
    if labels:
        # The first token of an example has no context of its own: in a packed row it
        # would be "predicted" from the previous example.
        labels[0] = IGNORE
    return TokenizedExample(ids, labels)


def pack(examples: Sequence[TokenizedExample], seq_len: int) -> list[PackedRow]:
    """Best-fit decreasing bin packing into rows of ``seq_len`` tokens; deterministic."""
    order = sorted(range(len(examples)), key=lambda i: (-len(examples[i]), i))
    rows: list[PackedRow] = []
    # (remaining capacity, row index), kept sorted so the tightest fit is a bisect away.
    free: list[tuple[int, int]] = []
    for i in order:
        ex = examples[i]
        n = len(ex)
        if n == 0:
            continue
        if n > seq_len:
            raise ValueError(f"example {i} has {n} tokens, more than the row length {seq_len}")
        k = bisect.bisect_left(free, (n, -1))
        if k < len(free):
            remaining, r = free.pop(k)
        else:
            rows.append(PackedRow())
            remaining, r = seq_len, len(rows) - 1
        row = rows[r]
        row.input_ids.extend(ex.input_ids)
        row.labels.extend(ex.labels)
        row.position_ids.extend(range(n))
        row.lengths.append(n)
        row.members.append(i)
        remaining -= n
        if remaining > 0:
            bisect.insort(free, (remaining, r))
    return rows


def packing_efficiency(rows: Sequence[PackedRow], seq_len: int) -> float:
    """Real tokens over row capacity."""
    if not rows:
        return 0.0
    return sum(r.real_tokens for r in rows) / (len(rows) * seq_len)


def padded_efficiency(batches: Sequence[Sequence[TokenizedExample]]) -> float:
    real = sum(len(e) for b in batches for e in b)
    cap = sum(len(b) * max(len(e) for e in b) for b in batches if b)
    return real / cap if cap else 0.0


def flash_attention_available() -> bool:
    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None


def block_causal_mask(
    rows: Sequence[PackedRow], seq_len: int, *, dtype: torch.dtype | None = None, device: Any = None
) -> torch.Tensor:
    """[batch, 1, L, L] float mask: 0 where a token may attend (same example, not later), -inf elsewhere.

    Padding after the last example forms one block of its own so that no row of the
    mask is all -inf (which would turn the softmax into NaN).
    """
    import torch

    dtype = dtype or torch.float32
    seg = torch.full((len(rows), seq_len), -1, dtype=torch.long)
    for b, row in enumerate(rows):
        start = 0
        for s, n in enumerate(row.lengths):
            seg[b, start : start + n] = s
            start += n
        seg[b, start:] = len(row.lengths)
    seg = seg.to(device)
    same = seg[:, :, None] == seg[:, None, :]
    causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()
    allowed = same & causal
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min if dtype != torch.float32 else float("-inf"))
    return mask[:, None, :, :]


def collate_packed(
    rows: Sequence[PackedRow], seq_len: int, *, pad_id: int, with_mask: bool = True, dtype: Any = None
) -> dict[str, torch.Tensor]:
    """Tensors for a batch of packed rows; ``with_mask=False`` for flash-attention varlen."""
    import torch

    ids = torch.full((len(rows), seq_len), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), seq_len), IGNORE, dtype=torch.long)
    pos = torch.zeros((len(rows), seq_len), dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row.input_ids)
        ids[b, :n] = torch.tensor(row.input_ids)
        labels[b, :n] = torch.tensor(row.labels)
        pos[b, :n] = torch.tensor(row.position_ids)
        pos[b, n:] = torch.arange(seq_len - n)
    batch = {"input_ids": ids, "labels": labels, "position_ids": pos}
    if with_mask:
        batch["attention_mask"] = block_causal_mask(rows, seq_len, dtype=dtype)
    return batch


def collate_padded(examples: Sequence[TokenizedExample], *, pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded causal batch (the baseline packing is measured against)."""
    import torch

    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for b, e in enumerate(examples):
        n = len(e)
        ids[b, :n] = torch.tensor(e.input_ids)
        labels[b, :n] = torch.tensor(e.labels)
        mask[b, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


# --- encoder-decoder -----------------------------------------------------------------


@dataclass
class Seq2SeqExample:
    input_ids: list[int]
    labels: list[int]


def tokenize_seq2seq(tokenizer: Any, input_text: str, target_text: str, *, max_len: int) -> Seq2SeqExample:
    eos = tokenizer.eos_token_id
    inp = _encode(tokenizer, input_text)[-(max_len - 1) :] if input_text else []
    tgt = _encode(tokenizer, target_text)[: max_len - 1]
    if eos is not None:
        inp, tgt = [*inp, eos], [*tgt, eos]
    return Seq2SeqExample(inp, tgt)


def bucket_batches(examples: Sequence[Seq2SeqExample], batch_size: int, *, seed: int) -> list[list[int]]:
    """Index batches of similar total length (then shuffled), so padding stays small."""
    order = sorted(
        range(len(examples)), key=lambda i: (len(examples[i].input_ids) + len(examples[i].labels), i)
    )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    random.Random(seed).shuffle(batches)
    return batches


def collate_seq2seq(examples: Sequence[Seq2SeqExample], *, pad_id: int) -> dict[str, torch.Tensor]:
    import torch

    wi = max(len(e.input_ids) for e in examples)
    wl = max(len(e.labels) for e in examples)
    ids = torch.full((len(examples), wi), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), wi), dtype=torch.long)
    labels = torch.full((len(examples), wl), IGNORE, dtype=torch.long)
    for b, e in enumerate(examples):
        ids[b, : len(e.input_ids)] = torch.tensor(e.input_ids)
        mask[b, : len(e.input_ids)] = 1
        labels[b, : len(e.labels)] = torch.tensor(e.labels)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
