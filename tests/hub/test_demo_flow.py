"""The demo drives the commands a user would run, with the demo's scale, and reuses what exists."""

from __future__ import annotations

import io
from typing import Any

import pytest

from generation.models import ModelSpec
from hub import demo_flow
from hub.demo_flow import BASE_NAME, CORPUS, DemoScale

pytestmark = pytest.mark.django_db


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def record(command: str, /, *args: Any, **options: Any) -> None:
        calls.append((command, args, options))

    monkeypatch.setattr(demo_flow, "call_command", record)
    return calls


def test_the_base_model_is_made_by_the_pretrain_base_command_at_the_demos_scale(commands) -> None:
    scale = DemoScale(pretrain_steps=7, hidden=32, layers=2, heads=2, seq_len=64)
    demo_flow.demo_base_ensure(scale=scale, out=io.StringIO())
    ((name, args, options),) = commands
    assert (name, args) == ("pretrain_base", (BASE_NAME,))
    assert options["corpus"] == str(CORPUS) and CORPUS.is_file()
    assert (options["steps"], options["seq_len"], options["hidden"], options["layers"], options["heads"]) == (
        7,
        64,
        32,
        2,
        2,
    )
    assert options["description"]


def test_an_existing_base_model_is_reused(commands) -> None:
    ModelSpec.objects.create(name=BASE_NAME, path="/models/demo-base")
    out = io.StringIO()
    demo_flow.demo_base_ensure(scale=DemoScale(), out=out)
    assert commands == [] and "already built" in out.getvalue()


def test_the_finetune_step_runs_the_finetune_command(commands) -> None:
    demo_flow.demo_finetune_ensure(scale=DemoScale(finetune_steps=5, seq_len=64), out=io.StringIO())
    ((name, _, options),) = commands
    assert name == "finetune" and options["base"] == BASE_NAME and options["name"] == demo_flow.FLAN_NAME
    assert (options["steps"], options["seq_len"], options["wait"]) == (5, 64, True)
