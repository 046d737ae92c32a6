"""A loaded model and its tokenizer: loading, prompt encoding, end ids and teacher-forced scores.

The part of the engine that does not sample (generation/engine.py builds on it). Imports torch:
reached only from the worker half, tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import torch

from generation.model_kind import CAUSAL, SEQ2SEQ, kind_from_config, model_kind_detect
from generation.sample_types import PromptRequest, plain_conversation


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


class LoadedModel:
    """A model (causal or seq2seq, in eval mode) with its tokenizer and end-of-sequence ids."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        kind: str | None = None,
        chat_template: bool = False,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        config = model.config
        self.kind = kind or kind_from_config(config)
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
        **options: Any,
    ) -> Self:
        """Load from a Hub id or a local directory; `options` go to the constructor."""
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        kind = kind or model_kind_detect(path, fetch_config=AutoConfig.from_pretrained)
        dev = pick_device(device)
        torch_dtype = pick_dtype(dtype, dev)
        loader = AutoModelForSeq2SeqLM if kind == SEQ2SEQ else AutoModelForCausalLM
        model: Any = loader.from_pretrained(path, dtype=torch_dtype)
        model = model.to(dev)
        tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(model, tokenizer, kind=kind, chat_template=chat_template, **options)

    # ---- prompts --------------------------------------------------------------------------
    def encode_prompt(self, text: str, request: PromptRequest | None = None) -> list[int]:
        """The ids the model is fed; `request` (when it is a conversation's turn) brings its history."""
        tok = self.tokenizer
        conversation = request is not None and request.history is not None
        if self.chat_template:
            messages = request.messages() if conversation and request else [{"role": "user", "content": text}]
            rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = list(tok(rendered, add_special_tokens=False)["input_ids"])
        elif conversation and request:
            ids = list(tok(plain_conversation(request), add_special_tokens=True)["input_ids"])
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
