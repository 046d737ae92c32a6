"""Next-token verdict probabilities from an in-process judge model. Imports torch (worker half only).

The judge's distribution over the verdict letters is read from its next-token log probabilities
after the prompt, restricted to the letters' tokens: each letter counts every single-token spelling
of it ("A", " A"), merged by log-sum-exp, and the three are renormalised. So every verdict is a
probability, never a parsed string. Loading, prompt encoding and chat templates are the generation
engine's (generation.loaded_model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from generation.loaded_model import LoadedModel
from generation.model_kind import CAUSAL
from judging.prompt import LETTERS


class VerdictModel(LoadedModel):
    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 8, **options: Any) -> None:
        super().__init__(model, tokenizer, **options)
        self.batch_size = max(1, int(batch_size))
        self.letter_ids = self._letter_token_ids()

    def _letter_token_ids(self) -> list[list[int]]:
        groups: list[list[int]] = []
        for letter in LETTERS:
            ids: list[int] = []
            for spelling in (letter, " " + letter):
                encoded = list(self.tokenizer(spelling, add_special_tokens=False)["input_ids"])
                if len(encoded) == 1 and encoded[0] not in ids:
                    ids.append(int(encoded[0]))
            if not ids:
                raise ValueError(f"the judge's tokenizer has no single token for the verdict {letter!r}")
            groups.append(ids)
        flat = [i for g in groups for i in g]
        if len(flat) != len(set(flat)):
            raise ValueError("two verdict letters share a token in the judge's tokenizer")
        return groups

    @torch.inference_mode()
    def _next_token_logits(self, encoded: Sequence[list[int]]) -> torch.Tensor:
        width = max(len(ids) for ids in encoded)
        rows = len(encoded)
        if self.kind == CAUSAL:
            # Left padding, so every row's last position is its prompt's last token.
            input_ids = torch.full((rows, width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((rows, width), dtype=torch.long)
            for r, ids in enumerate(encoded):
                input_ids[r, width - len(ids) :] = torch.tensor(ids)
                mask[r, width - len(ids) :] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                position_ids=positions.to(self.device),
            )
            return out.logits[:, -1].float()
        input_ids = torch.full((rows, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((rows, width), dtype=torch.long)
        for r, ids in enumerate(encoded):
            input_ids[r, : len(ids)] = torch.tensor(ids)
            mask[r, : len(ids)] = 1
        start = self.model.config.decoder_start_token_id
        decoder = torch.full((rows, 1), int(start if start is not None else self.pad_id), dtype=torch.long)
        out = self.model(
            input_ids=input_ids.to(self.device),
            attention_mask=mask.to(self.device),
            decoder_input_ids=decoder.to(self.device),
        )
        return out.logits[:, 0].float()

    def verdict_probabilities(self, prompts: Sequence[str]) -> list[tuple[float, float, float]]:
        """(first better, second better, tie) for each prompt, in order."""
        results: list[tuple[float, float, float]] = []
        encoded = [self.encode_prompt(text) for text in prompts]
        for start in range(0, len(encoded), self.batch_size):
            logp = torch.log_softmax(self._next_token_logits(encoded[start : start + self.batch_size]), -1)
            letters = torch.stack([torch.logsumexp(logp[:, ids], dim=-1) for ids in self.letter_ids], dim=-1)
            probs = torch.softmax(letters.double(), dim=-1).cpu().tolist()
            results.extend((float(p[0]), float(p[1]), float(p[2])) for p in probs)
        return results
