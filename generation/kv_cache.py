"""The KV cache of the fast path: DynamicCache layers given their full length up front.

transformers' DynamicLayer grows by torch.cat, copying the whole cache at every decoding step;
with many rows and long prompts that copy costs more than the attention itself. `preallocate`
turns the plain DynamicLayers of a prefilled cache into layers whose keys and values are views of
a buffer filled in place. Row selection (finished rows dropped) and repetition (k samples sharing
one prompt's prefill) keep working through the layer API the model and the engine call.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer, EncoderDecoderCache


def encoder_decoder_cache() -> EncoderDecoderCache:
    """An empty cache for a seq2seq decoder: its self-attention half is preallocated after step one."""
    return EncoderDecoderCache(DynamicCache(), DynamicCache())


def preallocate(cache: Any, capacity: int) -> None:
    """Give the cache's plain DynamicLayers room for `capacity` positions up front.

    Layers of other types (sliding windows, ...) are left alone: they keep growing their own way.
    """
    for layer in getattr(cache, "layers", []):
        if type(layer) is DynamicLayer and layer.is_initialized and layer.get_seq_length() > 0:
            layer.__class__ = PreallocatedLayer
            layer.adopt(capacity)  # type: ignore[attr-defined]


class PreallocatedLayer(DynamicLayer):
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
