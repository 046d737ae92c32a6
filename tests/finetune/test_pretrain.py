"""Tiny base models: pretraining on plain text, and the `pretrain_base` command that registers one."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation.models import ModelSpec

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from finetune import checkpoints as ck  # noqa: E402
from finetune import pretrain  # noqa: E402

TINY = ["--steps", "3", "--seq-len", "64", "--hidden", "32", "--layers", "1", "--heads", "2"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("The cat sat on the mat.\n\nA dog ran in the park.\n\n\n  \n\nBirds sing at dawn.\n")
    return path


def test_pretraining_a_tiny_base_on_plain_text(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    texts = pretrain.demo_texts()[:40]
    assert all(isinstance(t, str) and t for t in texts)
    out = pretrain.pretrain_tiny_base(tmp_path / "base", texts, steps=4, seq_len=128, batch_size=2)
    AutoModelForCausalLM.from_pretrained(out)
    assert not (out / ck.CHECKPOINTS).exists()
    assert not any(p.name.endswith("-init") for p in tmp_path.iterdir())


def test_a_corpus_is_read_as_its_paragraphs(corpus: Path) -> None:
    assert pretrain.corpus_paragraphs(corpus) == [
        "The cat sat on the mat.",
        "A dog ran in the park.",
        "Birds sing at dawn.",
    ]


def test_the_command_pretrains_a_base_into_models_dir_and_registers_it(
    corpus: Path, tmp_path: Path, settings, db, capsys
) -> None:
    from transformers import AutoModelForCausalLM

    settings.MODELS_DIR = tmp_path / "models"
    call_command("pretrain_base", "tiny-base", "--corpus", str(corpus), *TINY, "--description", "for tests")
    out = capsys.readouterr()
    spec = ModelSpec.objects.get(name="tiny-base")
    assert Path(spec.path) == tmp_path / "models" / "tiny-base"
    assert spec.kind == "causal" and spec.description == "for tests"
    assert "3/3" in out.err and "registered base model 'tiny-base'" in out.out  # the bar is on stderr
    model = AutoModelForCausalLM.from_pretrained(spec.path)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1


def test_the_command_takes_keyword_options_from_call_command(
    corpus: Path, tmp_path: Path, settings, db
) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    call_command(
        "pretrain_base", "kw-base", corpus=str(corpus), steps=2, seq_len=64, hidden=32, layers=1, heads=2
    )
    assert "2 steps on corpus.txt" in ModelSpec.objects.get(name="kw-base").description


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--corpus", "/nowhere/corpus.txt"], "corpus not found: /nowhere/corpus.txt"),
        (["--heads", "3"], "--hidden over --heads"),
        (["--steps", "0"], "--steps must be at least 1"),
    ],
)
def test_the_command_refuses_bad_input_with_a_one_line_reason(
    corpus: Path, tmp_path: Path, settings, db, args: list[str], reason: str
) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    with pytest.raises(CommandError, match=reason):
        call_command("pretrain_base", "b", "--corpus", str(corpus), *TINY, *args)
    assert not (tmp_path / "models").exists()


def test_the_command_refuses_a_name_already_registered(corpus: Path, tmp_path: Path, settings, db) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    ModelSpec.objects.create(name="taken", path=str(tmp_path), kind="causal")
    with pytest.raises(CommandError, match="already registered"):
        call_command("pretrain_base", "taken", "--corpus", str(corpus), *TINY)
    with pytest.raises(CommandError, match="cannot name a folder"):
        call_command("pretrain_base", "../up", "--corpus", str(corpus), *TINY)
