"""Issue 26.3: an outputs file imported as an evaluation set keeps only the prompts, and is one version."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_sets.models import EvalSet, Prompt
from eval_sets.services import eval_set_import

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-outputs"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real model outputs in {REAL}"),
]


def test_alpacaeval_outputs_of_two_models_import_as_one_version_holding_no_answer():
    first = eval_set_import(path=REAL / "gpt4_1106_preview.json", name="alpacaeval")
    second = eval_set_import(path=REAL / "alpaca-7b.json", name="alpacaeval")
    assert first.created and first.format == "alpacaeval" and first.prompt_count == 805
    assert not second.created and second.eval_set == first.eval_set, "the same instructions: no version 2"
    assert EvalSet.objects.filter(name="alpacaeval").count() == 1
    metadata_keys = {key for m in Prompt.objects.values_list("metadata", flat=True) for key in m}
    assert not metadata_keys & {"output", "generator"}
    assert any("only the prompts were kept, not the model's generator, output" in n for n in first.notes)
    categories = set(Prompt.objects.values_list("category", flat=True))
    assert categories == {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}
