"""Sampling k responses per prompt and scoring them by the model's own raw log probabilities.

The only module of the generation app (besides tiny.py) that imports torch: import it inside
function bodies (tasks, services), never at module level of models/views/urls/tasks.

What is stored for a sample (`GeneratedSample`):
- `token_ids`: the generated tokens, from the first one up to AND INCLUDING the token that ended
  the sample: the EOS token (finish_reason "eos"), the token that completed the first stop string
  (finish_reason "stop"), or the last token allowed by max_new_tokens (finish_reason "length").
  Nothing after that token is kept.
- `logprob_sum`: the sum over exactly those `token_ids` of log_softmax(RAW logits) at the sampled
  token, i.e. before temperature, top-k or top-p. No length normalisation. A teacher-forced
  forward pass of prompt + token_ids gives the same number.
- `num_tokens`: len(token_ids).
- `text`: the decoded tokens without special tokens (so no EOS). When a stop string hit, the
  text is cut just BEFORE the first occurrence of any of the prompt's stop strings (the stop
  string itself and anything after it are not in the text, although the tokens that spelled it
  are in token_ids and in the score). Stop strings are matched on decoded text, so byte
  sequences that are not valid UTF-8 match as the tokenizer decodes them.
- `PromptResult.prompt_token_ids`: exactly what the model was fed: the decoder input for a
  causal LM (never ending in EOS: a byte tokenizer's </s> is stripped), the encoder input for a
  seq2seq LM.

Fast path (causal LMs with a DynamicCache): prompts sorted by length are batched; each batch is
prefilled ONCE with left padding and position_ids = cumsum(mask) - 1; the cache is shared by the
k samples of each prompt with `batch_repeat_interleave(k)`; a manual decode loop samples from
softmax(logits / T) after top-k / top-p and scores with log_softmax of the raw logits; finished
rows are dropped from the cache (`batch_select_indices`) so no compute is spent on them (their
slots are not refilled with new prompts: a batch ends when its last row does). A batch also ends
where padding would pass 25 % of its prompt tokens, and the cache is preallocated for the batch
instead of growing by torch.cat at every step.
Seq2seq LMs: one encoder pass per batch, encoder states repeated k times, the same decode loop on
the decoder. Anything else (or a fast path that fails on an architecture) falls back to
`model.generate(output_logits=True)`, still scored from the raw logits; `Engine.last_path` says
which path ran and why.

Determinism: one torch.Generator per batch, seeded from the job seed and the ids of the prompts
in the batch, so the output is fixed for a given seed, model, batch composition and device.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers.cache_utils import DynamicLayer

log = logging.getLogger(__name__)

CAUSAL = "causal"
SEQ2SEQ = "seq2seq"


@dataclass(frozen=True)
class SamplingParams:
    samples: int = 5
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    seed: int = 0
    # EOS is taken out of the sampling distribution for the first min_new_tokens tokens
    # (as transformers' min_new_tokens does); scores still come from the raw logits.
    min_new_tokens: int = 0

    def check(self) -> None:
        if self.samples < 1:
            raise ValueError("samples must be at least 1")
        if not self.temperature > 0:
            raise ValueError("temperature must be greater than 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be 0 (off) or positive")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError("min_new_tokens must be between 0 and max_new_tokens")


@dataclass(frozen=True)
class PromptRequest:
    key: str  # stable id used to seed batches and to hand results back
    text: str
    stop: tuple[str, ...] = ()


@dataclass
class GeneratedSample:
    text: str
    token_ids: list[int]
    logprob_sum: float
    finish_reason: str  # "eos" | "stop" | "length"

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


@dataclass
class PromptResult:
    key: str
    prompt_token_ids: list[int]
    samples: list[GeneratedSample] = field(default_factory=list)


def detect_kind(path: str) -> str:
    """ "causal" or "seq2seq" from a local config.json or the Hub config."""
    config_file = Path(path) / "config.json"
    adapter_file = Path(path) / "adapter_config.json"
    if config_file.is_file():
        config: dict[str, Any] = json.loads(config_file.read_text())
    elif adapter_file.is_file():
        # A PEFT adapter (a finetune may save only that): the kind is its base model's.
        adapter = json.loads(adapter_file.read_text())
        task = str(adapter.get("task_type") or "")
        if task in ("CAUSAL_LM", "SEQ_2_SEQ_LM"):
            return CAUSAL if task == "CAUSAL_LM" else SEQ2SEQ
        return detect_kind(str(adapter["base_model_name_or_path"]))
    else:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(path).to_dict()
    architectures = " ".join(config.get("architectures") or [])
    if (
        config.get("is_encoder_decoder")
        or "ConditionalGeneration" in architectures
        or "Seq2Seq" in architectures
    ):
        return SEQ2SEQ
    return CAUSAL


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Mask logits outside top-k / top-p with -inf (same semantics as transformers' warpers)."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=False, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cumulative <= (1 - top_p)
        remove_sorted[..., -1:] = False  # always keep the most likely token
        remove = remove_sorted.scatter(-1, sorted_idx, remove_sorted)
        logits = logits.masked_fill(remove, float("-inf"))
    return logits


def _batch_seed(seed: int, keys: Sequence[str]) -> int:
    digest = hashlib.sha256(("\x1f".join([str(seed), *keys])).encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def _preallocate(cache: Any, capacity: int) -> None:
    """Give the cache's plain DynamicLayers room for `capacity` positions up front.

    DynamicLayer grows by torch.cat, copying the whole cache at every step; with many rows and
    long prompts that copy costs more than the attention itself. Layers of other types
    (sliding windows, ...) are left alone.
    """
    for layer in getattr(cache, "layers", []):
        if type(layer) is DynamicLayer and layer.is_initialized and layer.get_seq_length() > 0:
            layer.__class__ = _PreallocatedLayer
            layer.adopt(capacity)  # type: ignore[attr-defined]


class _PreallocatedLayer(DynamicLayer):
    """A DynamicLayer whose keys/values are views of a buffer filled in place."""

    def adopt(self, capacity: int) -> None:
        keys: torch.Tensor = self.keys  # type: ignore[assignment]
        values: torch.Tensor = self.values  # type: ignore[assignment]
        batch, heads, length, dim = keys.shape
        capacity = max(capacity, length)
        self._buf_k = keys.new_empty((batch, heads, capacity, dim))
        self._buf_v = values.new_empty((batch, heads, capacity, values.shape[-1]))
        self._buf_k[:, :, :length] = keys
        self._buf_v[:, :, :length] = values
        self._length = length
        self._expose()

    def _expose(self) -> None:
        self.keys = self._buf_k[:, :, : self._length]
        self.values = self._buf_v[:, :, : self._length]

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
        new = key_states.shape[-2]
        end = self._length + new
        if end > self._buf_k.shape[-2]:  # more than planned: grow like DynamicLayer would
            grow = max(end, 2 * self._buf_k.shape[-2]) - self._buf_k.shape[-2]
            self._buf_k = torch.cat(
                [self._buf_k, self._buf_k.new_empty(*self._buf_k.shape[:2], grow, self._buf_k.shape[-1])],
                dim=-2,
            )
            self._buf_v = torch.cat(
                [self._buf_v, self._buf_v.new_empty(*self._buf_v.shape[:2], grow, self._buf_v.shape[-1])],
                dim=-2,
            )
        self._buf_k[:, :, self._length : end] = key_states
        self._buf_v[:, :, self._length : end] = value_states
        self._length = end
        self._expose()
        return self.keys, self.values

    def batch_select_indices(self, indices: Any) -> None:
        self._buf_k = self._buf_k[indices, ...]
        self._buf_v = self._buf_v[indices, ...]
        self._expose()

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._buf_k = self._buf_k.repeat_interleave(repeats, dim=0)
        self._buf_v = self._buf_v.repeat_interleave(repeats, dim=0)
        self._expose()

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove < 0:
            self._length = max(0, self._length + tokens_to_remove)
            self._expose()
        else:
            super().crop(tokens_to_remove)


class _RowTracker:
    """Token bookkeeping for one sample row; decides when it ends."""

    __slots__ = ("finish", "logprob", "stop", "text", "tokens", "window")

    def __init__(self, stop: tuple[str, ...]) -> None:
        self.stop = tuple(s for s in stop if s)
        self.tokens: list[int] = []
        self.logprob = 0.0
        self.finish: str | None = None
        self.text: str | None = None
        self.window = 4 * max((len(s) for s in self.stop), default=0) + 4  # tokens decoded per check


class Engine:
    """A loaded model + tokenizer that samples and scores."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        kind: str | None = None,
        chat_template: bool = False,
        batch_size: int | None = None,
        fast_path: bool = True,
        max_padding: float = 0.25,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        config = model.config
        self.kind = kind or (SEQ2SEQ if getattr(config, "is_encoder_decoder", False) else CAUSAL)
        if chat_template and not getattr(tokenizer, "chat_template", None):
            raise ValueError("the model is set to use a chat template but its tokenizer has none")
        self.chat_template = chat_template
        self.device = next(model.parameters()).device
        # Chat models often end turns with an id that only the generation config lists
        # (Llama 3: <|eot_id|>): every source of end-of-sequence ids counts.
        self.eos_ids: set[int] = set()
        generation_config = getattr(model, "generation_config", None)
        for source in (config, generation_config, tokenizer):
            eos = getattr(source, "eos_token_id", None)
            if isinstance(eos, int):
                self.eos_ids.add(eos)
            elif isinstance(eos, list | tuple):
                self.eos_ids.update(int(e) for e in eos if e is not None)
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = getattr(config, "pad_token_id", None)
        if pad is None:
            pad = next(iter(self.eos_ids), 0)
        self.pad_id = int(pad)
        self.batch_size = batch_size or (32 if self.device.type == "cuda" else 16)
        self.fast_path = fast_path
        self.max_padding = max_padding
        self.last_path = ""

    # ---- loading --------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str,
        *,
        kind: str | None = None,
        dtype: str = "auto",
        chat_template: bool = False,
        device: str | None = None,
        batch_size: int | None = None,
    ) -> Engine:
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        kind = kind or detect_kind(path)
        dev = pick_device(device)
        torch_dtype = pick_dtype(dtype, dev)
        loader = AutoModelForSeq2SeqLM if kind == SEQ2SEQ else AutoModelForCausalLM
        model: Any = loader.from_pretrained(path, dtype=torch_dtype)
        model = model.to(dev)
        tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(model, tokenizer, kind=kind, chat_template=chat_template, batch_size=batch_size)

    # ---- prompts --------------------------------------------------------------------------
    def encode_prompt(self, text: str) -> list[int]:
        tok = self.tokenizer
        if self.chat_template:
            rendered = tok.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
            ids = list(tok(rendered, add_special_tokens=False)["input_ids"])
        else:
            ids = list(tok(text, add_special_tokens=True)["input_ids"])
        if self.kind == CAUSAL:
            # A causal prompt must not end in EOS (ByT5-style tokenizers append </s>).
            while ids and ids[-1] in self.eos_ids:
                ids.pop()
            if not ids:
                bos = tok.bos_token_id if tok.bos_token_id is not None else self.model.config.bos_token_id
                ids = [bos if bos is not None else self.pad_id]
        return ids

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    # ---- public API -----------------------------------------------------------------------
    def generate(
        self,
        prompts: Sequence[PromptRequest],
        params: SamplingParams,
        *,
        on_result: Callable[[PromptResult], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[PromptResult]:
        """Sample `params.samples` responses for every prompt; results in the input order.

        `on_result` is called as soon as each prompt's batch finishes (for incremental commits);
        `should_stop` is checked between batches.
        """
        params.check()
        encoded = [(p, self.encode_prompt(p.text)) for p in prompts]
        # Longest first: an OOM shows up on the first batch, and similar lengths pad little.
        order = sorted(range(len(encoded)), key=lambda i: (-len(encoded[i][1]), i))
        results: dict[int, PromptResult] = {}
        batch_size = max(1, self.batch_size)
        start = 0
        while start < len(order):
            if should_stop is not None and should_stop():
                break
            size = self._next_batch([len(encoded[i][1]) for i in order[start:]], batch_size)
            idx = order[start : start + size]
            batch = [encoded[i] for i in idx]
            out = None
            try:
                out = self._run_batch(batch, params)
            except Exception as exc:
                if not (_is_oom(exc) and batch_size > 1):
                    raise
            if out is None:
                # Outside the except block, so the failed batch's tensors are already released.
                batch_size = max(1, batch_size // 2)
                log.warning("out of memory: batch size halved to %d", batch_size)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            for i, result in zip(idx, out, strict=True):
                results[i] = result
                if on_result is not None:
                    on_result(result)
            start += len(idx)
        return [results[i] for i in sorted(results)]

    def _next_batch(self, lengths: Sequence[int], batch_size: int) -> int:
        """How many of the next prompts (sorted longest first) form a batch.

        Every prompt of a batch is padded to the longest and its cache is attended to at every
        step, so a batch also ends where padding would exceed `max_padding` of its tokens.
        """
        longest = lengths[0]
        total = 0
        count = 0
        for length in lengths[:batch_size]:
            if count and longest * (count + 1) > (total + length) * (1 + self.max_padding):
                break
            total += length
            count += 1
        return max(1, count)

    def _run_batch(
        self, batch: list[tuple[PromptRequest, list[int]]], params: SamplingParams
    ) -> list[PromptResult]:
        if self.fast_path:
            try:
                out = self._fast_batch(batch, params)
                self.last_path = f"fast ({self.kind}, shared prefill)"
                return out
            except Exception as exc:
                if _is_oom(exc):
                    raise
                # The architecture cannot serve the manual loop: use generate from now on.
                log.warning("fast path failed (%s: %s); falling back to generate", type(exc).__name__, exc)
                self.fast_path = False
                self.fallback_reason = f"{type(exc).__name__}"
        out = self._generate_batch(batch, params)
        reason = getattr(self, "fallback_reason", "fast path off")
        self.last_path = f"generate fallback ({reason})"[:64]
        return out

    # ---- the fast path -------------------------------------------------------------------
    @torch.inference_mode()
    def _fast_batch(
        self, batch: list[tuple[PromptRequest, list[int]]], params: SamplingParams
    ) -> list[PromptResult]:
        k = params.samples
        device = self.device
        gen = torch.Generator(device=device)
        gen.manual_seed(_batch_seed(params.seed, [p.key for p, _ in batch]))
        width = max(len(ids) for _, ids in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (_, ids) in enumerate(batch):
            if ids:
                input_ids[row, width - len(ids) :] = torch.tensor(ids)
                mask[row, width - len(ids) :] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)
        # Causal rows carry a growing mask and positions; seq2seq rows carry encoder states.
        attn: torch.Tensor | None = None
        next_pos: torch.Tensor | None = None
        encoder_states: torch.Tensor | None = None
        encoder_mask: torch.Tensor | None = None

        if self.kind == CAUSAL:
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=position_ids,
                use_cache=True,
                logits_to_keep=1,
            )
            cache = out.past_key_values
            cache.batch_repeat_interleave(k)
            _preallocate(cache, width + params.max_new_tokens)
            logits = out.logits[:, -1, :].repeat_interleave(k, dim=0)
            attn = mask.repeat_interleave(k, dim=0)
            next_pos = position_ids[:, -1:].repeat_interleave(k, dim=0) + 1
        else:
            encoder = self.model.get_encoder()
            enc = encoder(input_ids=input_ids, attention_mask=mask)
            encoder_states = enc.last_hidden_state.repeat_interleave(k, dim=0)
            encoder_mask = mask.repeat_interleave(k, dim=0)
            start_id = self.model.config.decoder_start_token_id
            if start_id is None:
                start_id = self.pad_id
            from transformers import DynamicCache, EncoderDecoderCache

            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
            dec_in = torch.full((len(batch) * k, 1), int(start_id), dtype=torch.long, device=device)
            out = self.model(
                encoder_outputs=(encoder_states,),
                attention_mask=encoder_mask,
                decoder_input_ids=dec_in,
                past_key_values=cache,
                use_cache=True,
            )
            cache = out.past_key_values
            _preallocate(cache.self_attention_cache, 1 + params.max_new_tokens)
            logits = out.logits[:, -1, :]

        rows = [_RowTracker(p.stop) for p, _ in batch for _ in range(k)]
        alive = list(range(len(rows)))  # rows[alive[j]] is the j-th row of the live tensors
        for step in range(params.max_new_tokens):
            raw = logits.float()
            logp = torch.log_softmax(raw, dim=-1)
            sampling = raw / params.temperature
            if step < params.min_new_tokens and self.eos_ids:
                sampling = sampling.clone()
                sampling[:, sorted(self.eos_ids)] = float("-inf")
            probs = torch.softmax(_filter_logits(sampling, params.top_k, params.top_p), dim=-1)
            token = torch.multinomial(probs, 1, generator=gen)
            token_lp = logp.gather(-1, token).squeeze(-1)
            tokens_list = token.squeeze(-1).tolist()
            lps_list = token_lp.tolist()
            keep: list[int] = []
            last_step = step == params.max_new_tokens - 1
            for j, r in enumerate(alive):
                tracker = rows[r]
                tok_id = tokens_list[j]
                tracker.tokens.append(tok_id)
                tracker.logprob += lps_list[j]
                if tok_id in self.eos_ids:
                    tracker.finish = "eos"
                elif tracker.stop and self._stop_hit(tracker):
                    tracker.finish = "stop"
                elif last_step:
                    tracker.finish = "length"
                else:
                    keep.append(j)
            if not keep:
                break
            if len(keep) < len(alive):
                keep_t = torch.tensor(keep, device=device)
                cache.batch_select_indices(keep_t)
                token = token[keep_t]
                if attn is not None and next_pos is not None:
                    attn = attn[keep_t]
                    next_pos = next_pos[keep_t]
                if encoder_states is not None and encoder_mask is not None:
                    encoder_states = encoder_states[keep_t]
                    encoder_mask = encoder_mask[keep_t]
                alive = [alive[j] for j in keep]
            if self.kind == CAUSAL:
                assert attn is not None and next_pos is not None
                attn = torch.cat([attn, attn.new_ones((attn.shape[0], 1))], dim=-1)
                out = self.model(
                    input_ids=token,
                    attention_mask=attn,
                    position_ids=next_pos,
                    past_key_values=cache,
                    use_cache=True,
                )
                next_pos = next_pos + 1
            else:
                out = self.model(
                    encoder_outputs=(encoder_states,),
                    attention_mask=encoder_mask,
                    decoder_input_ids=token,
                    past_key_values=cache,
                    use_cache=True,
                )
            cache = out.past_key_values
            logits = out.logits[:, -1, :]

        results = []
        for b, (request, ids) in enumerate(batch):
            result = PromptResult(key=request.key, prompt_token_ids=list(ids))
            for s in range(k):
                result.samples.append(self._finish(rows[b * k + s]))
            results.append(result)
        return results

    def _stop_hit(self, tracker: _RowTracker) -> bool:
        """Did the newest token complete a stop string? Decodes only a tail window per step.

        A stop string of n characters spans at most 4n byte-level tokens (UTF-8), so a window of
        4n + 4 tokens always holds one that the newest token completed; the full text is decoded
        only once, when a stop string is found, to cut it at the first occurrence.
        """
        window = tracker.window
        tail = self._decode(tracker.tokens[-window:])
        if not any(s in tail for s in tracker.stop):
            return False
        text = self._decode(tracker.tokens)
        found = [pos for s in tracker.stop if (pos := text.find(s)) != -1]
        if not found:  # the tail decoded differently from the whole (rare tokenizer quirk)
            return False
        tracker.text = text[: min(found)]
        return True

    def _finish(self, tracker: _RowTracker) -> GeneratedSample:
        text = (
            tracker.text
            if tracker.finish == "stop" and tracker.text is not None
            else self._decode(tracker.tokens)
        )
        return GeneratedSample(
            text=text,
            token_ids=list(tracker.tokens),
            logprob_sum=float(tracker.logprob),
            finish_reason=tracker.finish or "length",
        )

    # ---- the fallback: model.generate -----------------------------------------------------
    @torch.inference_mode()
    def _generate_batch(
        self, batch: list[tuple[PromptRequest, list[int]]], params: SamplingParams
    ) -> list[PromptResult]:
        torch.manual_seed(_batch_seed(params.seed, [p.key for p, _ in batch]))
        results = []
        for request, ids in batch:
            inputs = torch.tensor([ids], device=self.device)
            out = self.model.generate(
                input_ids=inputs,
                attention_mask=torch.ones_like(inputs),
                do_sample=True,
                temperature=params.temperature,
                top_k=params.top_k,
                top_p=params.top_p,
                max_new_tokens=params.max_new_tokens,
                min_new_tokens=params.min_new_tokens,
                num_return_sequences=params.samples,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=self.pad_id,
            )
            # Causal: drop the prompt; seq2seq: drop the decoder start token.
            generated = out.sequences[:, inputs.shape[1] :] if self.kind == CAUSAL else out.sequences[:, 1:]
            steps = torch.stack(out.logits, dim=1).float()  # [k, steps, vocab] raw logits
            logp = torch.log_softmax(steps, dim=-1)
            n = min(generated.shape[1], logp.shape[1])
            token_lp = logp[:, :n].gather(-1, generated[:, :n, None]).squeeze(-1)
            result = PromptResult(key=request.key, prompt_token_ids=list(ids))
            for s in range(generated.shape[0]):
                tracker = _RowTracker(request.stop)
                for t in range(n):
                    tracker.tokens.append(int(generated[s, t]))
                    tracker.logprob += float(token_lp[s, t])
                    if tracker.tokens[-1] in self.eos_ids:
                        tracker.finish = "eos"
                        break
                    if tracker.stop and self._stop_hit(tracker):
                        tracker.finish = "stop"
                        break
                result.samples.append(self._finish(tracker))
            results.append(result)
        return results

    # ---- scoring ----------------------------------------------------------------------------
    @torch.inference_mode()
    def score(self, prompt_token_ids: Sequence[int], token_ids: Sequence[int]) -> float:
        """Teacher-forced sum of raw log probabilities of `token_ids` after the prompt."""
        if not token_ids:
            return 0.0
        target = torch.tensor([list(token_ids)], device=self.device)
        if self.kind == CAUSAL:
            full = torch.tensor([list(prompt_token_ids) + list(token_ids)], device=self.device)
            logits = self.model(input_ids=full).logits[0, len(prompt_token_ids) - 1 : -1]
        else:
            start = self.model.config.decoder_start_token_id
            dec = torch.tensor([[start, *list(token_ids)[:-1]]], device=self.device)
            enc = torch.tensor([list(prompt_token_ids)], device=self.device)
            logits = self.model(input_ids=enc, decoder_input_ids=dec).logits[0]
        logp = torch.log_softmax(logits.float(), dim=-1)
        return float(logp.gather(-1, target[0][:, None]).sum())


def throughput(tokens: int, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else 0.0


def now() -> float:
    return time.perf_counter()
