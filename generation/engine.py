"""Sampling k responses per prompt and scoring them by the model's own raw log probabilities.

Imports torch: only the worker half (generation/runner.py), tests and benchmarks import it. The
pieces: loaded_model.py (loading, prompt encoding, scoring), sampling.py (requests, results, the
per-row bookkeeping, top-k / top-p), kv_cache.py (the preallocated cache); this module batches
and runs the decode loop.

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

Determinism: one torch.Generator per batch, seeded from the job seed and the keys of the prompts
in the batch (the runner uses the prompt's id from its source file), so the output is fixed for a
given seed, model, batch composition and device, in any database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

from generation.kv_cache import encoder_decoder_cache, preallocate
from generation.loaded_model import LoadedModel
from generation.model_kind import CAUSAL
from generation.sampling import (
    PromptRequest,
    PromptResult,
    RowTracker,
    SamplingParams,
    batch_seed,
    filter_logits,
)

log = logging.getLogger(__name__)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


class Engine(LoadedModel):
    """A loaded model + tokenizer that samples k responses per prompt and scores them."""

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
        super().__init__(model, tokenizer, kind=kind, chat_template=chat_template)
        self.batch_size = batch_size or (32 if self.device.type == "cuda" else 16)
        self.fast_path = fast_path
        self.max_padding = max_padding
        self.last_path = ""
        self.fallback_reason = "fast path off"

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
        encoded = [(p, self.encode_prompt(p.text, p)) for p in prompts]
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
        self.last_path = f"generate fallback ({self.fallback_reason})"[:64]
        return out

    # ---- the fast path -------------------------------------------------------------------
    @torch.inference_mode()
    def _fast_batch(
        self, batch: list[tuple[PromptRequest, list[int]]], params: SamplingParams
    ) -> list[PromptResult]:
        k = params.samples
        device = self.device
        gen = torch.Generator(device=device)
        gen.manual_seed(batch_seed(params.seed, [p.key for p, _ in batch]))
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
            # `out.cache` (transformers' current name): a version without it raises AttributeError
            # here, and the engine falls back to generate rather than decode without a cache.
            cache = out.cache
            cache.batch_repeat_interleave(k)
            preallocate(cache, width + params.max_new_tokens)
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
            cache = encoder_decoder_cache()
            dec_in = torch.full((len(batch) * k, 1), int(start_id), dtype=torch.long, device=device)
            out = self.model(
                encoder_outputs=(encoder_states,),
                attention_mask=encoder_mask,
                decoder_input_ids=dec_in,
                cache=cache,
                use_cache=True,
            )
            cache = out.cache
            preallocate(cache.self_attention_cache, 1 + params.max_new_tokens)
            logits = out.logits[:, -1, :]

        decode = self._decode
        rows = [RowTracker(p.stop) for p, _ in batch for _ in range(k)]
        alive = list(range(len(rows)))  # rows[alive[j]] is the j-th row of the live tensors
        for step in range(params.max_new_tokens):
            raw = logits.float()
            logp = torch.log_softmax(raw, dim=-1)
            sampling = raw / params.temperature
            if step < params.min_new_tokens and self.eos_ids:
                sampling = sampling.clone()
                sampling[:, sorted(self.eos_ids)] = float("-inf")
            probs = torch.softmax(filter_logits(sampling, params.top_k, params.top_p), dim=-1)
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
                elif tracker.stop and tracker.stop_hit(decode):
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
                    cache=cache,
                    use_cache=True,
                )
                next_pos = next_pos + 1
            else:
                out = self.model(
                    encoder_outputs=(encoder_states,),
                    attention_mask=encoder_mask,
                    decoder_input_ids=token,
                    cache=cache,
                    use_cache=True,
                )
            cache = out.cache
            logits = out.logits[:, -1, :]

        results = []
        for b, (request, ids) in enumerate(batch):
            result = PromptResult(key=request.key, prompt_token_ids=list(ids))
            for s in range(k):
                result.samples.append(rows[b * k + s].sample(decode))
            results.append(result)
        return results

    # ---- the fallback: model.generate -----------------------------------------------------
    @torch.inference_mode()
    def _generate_batch(
        self, batch: list[tuple[PromptRequest, list[int]]], params: SamplingParams
    ) -> list[PromptResult]:
        torch.manual_seed(batch_seed(params.seed, [p.key for p, _ in batch]))
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
                tracker = RowTracker(request.stop)
                for t in range(n):
                    tracker.tokens.append(int(generated[s, t]))
                    tracker.logprob += float(token_lp[s, t])
                    if tracker.tokens[-1] in self.eos_ids:
                        tracker.finish = "eos"
                        break
                    if tracker.stop_hit(self._decode):
                        tracker.finish = "stop"
                        break
                result.samples.append(tracker.sample(self._decode))
            results.append(result)
        return results
