"""A small campaign with ratings, and a tiny judge model saved once per session (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def judge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generation.tiny import save_tiny, tiny_causal

    return save_tiny(tiny_causal(seed=7), tmp_path_factory.mktemp("tiny-judge"))


@pytest.fixture(scope="session")
def seq2seq_judge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generation.tiny import save_tiny, tiny_seq2seq

    return save_tiny(tiny_seq2seq(seed=8), tmp_path_factory.mktemp("tiny-judge-s2s"))
