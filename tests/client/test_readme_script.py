"""The client README's end-to-end script, run as written against a live server on tiny in-process models."""

from __future__ import annotations

import json
import re

import pytest

from tests.client.conftest import CLIENT
from tests.conftest import PASSWORD  # noqa: F401 - the shared fixtures' password
from tests.generation.conftest import PROMPT_TEXTS


def readme_script() -> str:
    text = (CLIENT / "README.md").read_text()
    match = re.search(r"<!-- end-to-end script[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert match, "client/README.md has lost its end-to-end script block"
    return match.group(1)


@pytest.fixture
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    import torch

    from generation.tiny import save_tiny, tiny_causal, tiny_seq2seq

    torch.set_num_threads(1)
    base = save_tiny(tiny_causal(seed=1, hidden=32, layers=1, heads=2), tmp_path_factory.mktemp("base"))
    tuned = save_tiny(tiny_seq2seq(seed=2), tmp_path_factory.mktemp("tuned"))
    return str(base), str(tuned)


def test_the_readme_script_runs_end_to_end_against_a_live_server(
    live_server, live_token, rater, tiny_models, settle_eagerly, tmp_path, monkeypatch, capsys
) -> None:
    from usability_client import waiting

    from annotate.models import Campaign
    from tests.factories import rate

    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "category": "general", "setting": "zero_shot", "prompt": text}) + "\n"
            for i, text in enumerate(PROMPT_TEXTS[:3])
        )
    )
    monkeypatch.setenv("USABILITY_URL", live_server.url)
    monkeypatch.setenv("USABILITY_TOKEN", live_token)
    monkeypatch.setenv("EVAL_SET_FILE", str(questions))
    monkeypatch.setenv("BASE_MODEL", tiny_models[0])
    monkeypatch.setenv("TUNED_MODEL", tiny_models[1])
    monkeypatch.setenv("RATERS", rater.username)

    def raters_rate_meanwhile(seconds: float) -> None:
        # The script waits for the campaign; the rater rates (between polls: one thread at a time).
        rate(Campaign.objects.get(name="base-vs-tuned"), rater, lambda n: ("left", "right", "left")[n % 3])

    monkeypatch.setattr(waiting, "sleep", raters_rate_meanwhile)
    exec(compile(readme_script(), "client/README.md", "exec"), {"__name__": "__main__"})

    out = capsys.readouterr().out
    print(out)  # the script's own output, for the note
    assert "imported my-questions v 1 with 3 prompts" in out
    assert "base generated 3 prompts" in out and "tuned generated 3 prompts" in out
    assert "invite link: http" in out
    assert re.search(r"tuned vs base: preferred \d+-\d+ \(ties \d+\), rate", out)
