"""Tiny models built from a config and a byte-level tokenizer: no download, no vocabulary file.

Used by the tests, the benchmarks and the demo. Imports torch: never import this
from models, views, urls or at the top of tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    ByT5Tokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    T5Config,
    T5ForConditionalGeneration,
)

BYTE_VOCAB = 384  # ByT5: 3 specials + 256 bytes + 125 extra ids; pad 0, eos 1


def byte_tokenizer() -> ByT5Tokenizer:
    return ByT5Tokenizer()


def tiny_causal(
    *,
    seed: int = 0,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_positions: int = 2048,
    **overrides: Any,
) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=BYTE_VOCAB,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
        tie_word_embeddings=True,
        **overrides,
    )
    model = LlamaForCausalLM(config)
    model.eval()
    return model


def tiny_served_causal(*, seed: int = 3) -> LlamaForCausalLM:
    """A tiny Llama that vLLM's CPU build can serve, and whose samples end in all three ways.

    vLLM's CPU attention needs head_dim 64 (hidden 128, 2 heads). The output rows of EOS and of
    "z" are scaled up (untied from the input embeddings), so with 32 new tokens some samples end
    by EOS, some by the stop string "z" and some by length.
    """
    model = tiny_causal(seed=seed, hidden=128, heads=2, max_positions=512)
    model.config.tie_word_embeddings = False
    weight = model.lm_head.weight.detach().clone()
    generator = torch.Generator().manual_seed(7)
    for token, scale in ((1, 3.0), (ord("z") + 3, 10.0)):  # ByT5: byte b is token b + 3
        weight[token] = torch.randn(weight.shape[1], generator=generator) * scale / weight.shape[1] ** 0.5
    model.lm_head.weight = torch.nn.Parameter(weight)
    return model


def tiny_seq2seq(
    *, seed: int = 0, hidden: int = 64, layers: int = 2, heads: int = 4, **overrides: Any
) -> T5ForConditionalGeneration:
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=BYTE_VOCAB,
        d_model=hidden,
        d_kv=hidden // heads,
        d_ff=hidden * 4,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=heads,
        pad_token_id=0,
        eos_token_id=1,
        **overrides,
    )
    config.decoder_start_token_id = 0  # T5's convention: decoding starts from the pad id
    model = T5ForConditionalGeneration(config)
    model.eval()
    return model


def save_tiny(model: PreTrainedModel, directory: Path | str) -> Path:
    """Save `model` with the byte tokenizer so AutoTokenizer/AutoModel load it offline."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    byte_tokenizer().save_pretrained(directory)
    return directory
