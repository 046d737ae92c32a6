"""Tiny models saved once per session, evaluation sets of short prompts, independent re-scoring."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from eval_sets.models import EvalSet
from tests.factories import make_eval_set


def _tiny_saved(factory: pytest.TempPathFactory, kind: str, seed: int) -> Path:
    """A tiny model of `kind` built in-process and saved in a folder of its own (no download)."""
    from generation import tiny  # torch: only when a test asks for a model

    build = tiny.tiny_causal if kind == "causal" else tiny.tiny_seq2seq
    return tiny.save_tiny(build(seed=seed), factory.mktemp(f"tiny-{kind}"))


@pytest.fixture(scope="session")
def causal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_saved(tmp_path_factory, "causal", seed=1)


@pytest.fixture(scope="session")
def seq2seq_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_saved(tmp_path_factory, "seq2seq", seed=2)


PROMPT_TEXTS = [
    "Write a haiku about autumn.",
    "Explain recursion to a child.",
    "List three prime numbers.",
    "What is the capital of France?",
    "Translate 'good morning' into German.",
    "Give me a recipe for pancakes, step by step, with quantities.",
    "Why is the sky blue?",
]


@pytest.fixture
def eval_set_factory(db) -> Callable[..., EvalSet]:
    """``tests.factories.make_eval_set`` with the short, varied prompts the tiny models answer here."""

    def make(name: str = "demo", count: int = 5, stop: Sequence[str] = (), version: int = 1) -> EvalSet:
        return make_eval_set(
            name=name,
            n_prompts=count,
            texts=PROMPT_TEXTS,
            categories=("general",),
            settings=("zero_shot",),
            uid=lambda i: f"p{i}",
            stop=stop,
            version=version,
        )

    return make


def rescore(model, kind: str, prompt_ids: Sequence[int], token_ids: Sequence[int]) -> float:
    """Teacher-forced sum of raw log probabilities, written independently of the engine."""
    import torch

    with torch.no_grad():
        if kind == "causal":
            full = torch.tensor([[*prompt_ids, *token_ids]])
            logits = model(input_ids=full).logits[0, len(prompt_ids) - 1 : -1]
        else:
            start = model.config.decoder_start_token_id
            decoder = torch.tensor([[start, *token_ids[:-1]]])
            logits = model(input_ids=torch.tensor([list(prompt_ids)]), decoder_input_ids=decoder).logits[0]
        logp = torch.log_softmax(logits.double(), dim=-1)
        return float(logp[torch.arange(len(token_ids)), torch.tensor(list(token_ids))].sum())


# ---- served models: what the operator allows ---------------------------------------------------
@pytest.fixture
def served_loopback(settings) -> None:
    """The test servers run on 127.0.0.1: allowed explicitly, as an operator running a local vLLM would.

    Nothing else is allowed by default (SERVED_ALLOWED_HOSTS is empty), loopback included.
    """
    settings.SERVED_ALLOWED_HOSTS = ["127.0.0.1"]


# ---- a real vLLM server (CPU build, its own venv), once per session ---------------------------
VLLM_SERVED_NAME = "tiny-served"


@dataclass(frozen=True)
class VllmServer:
    base_url: str  # ends in /v1, as registered
    model_dir: Path  # the weights it serves (for our own rescoring)
    served_model: str
    log: Path


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    """`vllm.entrypoints.openai.api_server` serving a tiny Llama on a free loopback port."""
    from generation.vllm_local import REPO, VLLM_PYTHON, VllmStartError, vllm_start

    if not VLLM_PYTHON.exists():
        pytest.skip(f"{VLLM_PYTHON.relative_to(REPO)} is absent: `make vllm` installs vLLM's CPU build there")
    from generation.tiny import save_tiny, tiny_served_causal

    root = tmp_path_factory.mktemp("vllm")
    model_dir = save_tiny(tiny_served_causal(), root / "model")
    try:
        server = vllm_start(model_dir, served_model=VLLM_SERVED_NAME, log=root / "server.log")
    except VllmStartError as exc:
        pytest.fail(str(exc))
    try:
        yield VllmServer(server.base_url, model_dir, VLLM_SERVED_NAME, server.log)
    finally:
        server.stop()
