"""Turning rendered (input, target) pairs into training batches.

Decoder-only: examples are packed into fixed-length rows (best-fit decreasing); position ids
restart at each example and a block-diagonal causal mask keeps examples from attending to
each other (4D float mask for SDPA: 0 allowed, -inf elsewhere). On a GPU with flash-attn,
passing only the restarting position ids lets transformers take flash-attention's varlen
path instead. Labels are -100 everywhere but target tokens.

Encoder-decoder: length-bucketed padded batches (packing an encoder-decoder needs masks on
both sides and the cross-attention; buckets keep padding low without that risk).

A run's data (split, units, the seeded stream of micro-batches every process draws from) is at the
end. torch is imported inside functions so this module can be imported (e.g. for types) cheaply.
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


# --- a run's data: split, batch units, the stream of micro-batches --------------------


@dataclass
class TrainData:
    train_units: list[Any]  # PackedRow, TokenizedExample or a list of Seq2SeqExample
    eval_units: list[Any]
    train_examples: int
    eval_examples: int
    efficiency: float | None
    unit_per_micro: int  # how many units make one micro-batch


def train_data(
    tokenizer: Any,
    pairs: Sequence[tuple[str, str, str]],
    *,
    kind: str,
    seq_len: int,
    batch_size: int,
    packed: bool,
    seed: int,
    eval_fraction: float,
    max_eval: int,
) -> TrainData:
    """(input, target, separator) triples split (a seeded shuffle; the first ``eval_fraction``, at
    most ``max_eval``, held out) and tokenized into the units one micro-batch is made of."""
    order = list(range(len(pairs)))
    random.Random(f"split:{seed}").shuffle(order)
    n_eval = 0
    if len(pairs) > 1 and eval_fraction > 0:
        n_eval = min(max_eval, max(1, int(len(pairs) * eval_fraction)))
    train_pairs, eval_pairs = [pairs[i] for i in order[n_eval:]], [pairs[i] for i in order[:n_eval]]
    if kind == "seq2seq":
        tr = [tokenize_seq2seq(tokenizer, i, t, max_len=seq_len) for i, t, _ in train_pairs]
        ev = [tokenize_seq2seq(tokenizer, i, t, max_len=seq_len) for i, t, _ in eval_pairs]
        tb = [[tr[i] for i in b] for b in bucket_batches(tr, batch_size, seed=seed)]
        eb = [[ev[i] for i in b] for b in bucket_batches(ev, batch_size, seed=seed)]
        return TrainData(tb, eb, len(tr), len(ev), None, 1)
    tr_c = [tokenize_causal(tokenizer, i, t, max_len=seq_len, separator=s) for i, t, s in train_pairs]
    ev_c = [tokenize_causal(tokenizer, i, t, max_len=seq_len, separator=s) for i, t, s in eval_pairs]
    tr_c = [e for e in tr_c if e.target_tokens]
    ev_c = [e for e in ev_c if e.target_tokens]
    if not tr_c:
        raise ValueError("no training example has a target token")
    if packed:
        rows = pack(tr_c, seq_len)
        efficiency = packing_efficiency(rows, seq_len)
        return TrainData(rows, pack(ev_c, seq_len), len(tr_c), len(ev_c), efficiency, batch_size)
    return TrainData(tr_c, ev_c, len(tr_c), len(ev_c), None, batch_size)


def unit_indices(n_units: int, seed: int, start: int, count: int) -> list[int]:
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


def collate_units(
    units: Sequence[Any], *, kind: str, packed: bool, seq_len: int, pad_id: int, flash: bool, dtype: Any
) -> dict[str, torch.Tensor]:
    if kind == "seq2seq":
        return collate_seq2seq([e for u in units for e in u], pad_id=pad_id)
    if packed:
        return collate_packed(list(units), seq_len, pad_id=pad_id, with_mask=not flash, dtype=dtype)
    return collate_padded(units, pad_id=pad_id)
