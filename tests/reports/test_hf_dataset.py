"""`report --format hf`: a dataset folder that `datasets.load_dataset` loads, offline."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_campaign, rate


@pytest.mark.django_db
def test_an_hf_export_loads_with_datasets_one_row_per_rating(tmp_path, rater, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    campaign = make_campaign(name="hfcamp", n_prompts=4, raters=[rater])
    rate(campaign, rater, "left")
    out = tmp_path / "dataset"
    call_command("report", campaign="hfcamp", format="hf", out=str(out))

    import datasets

    loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 4
    row = loaded[0]
    assert row["winner"] in (row["system_a"], row["system_b"])  # names the system, not the side
    assert row["rater"] == "rater-001" and rater.username not in str(loaded.to_dict())
    assert row["prompt"] and row["response_a"] and row["response_b"]
    assert {"seconds", "turn", "category", "setting"} <= set(loaded.column_names)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "\nlicense:" in card and "## Methods" in card


@pytest.mark.django_db
def test_an_hf_export_needs_a_folder() -> None:
    with pytest.raises(CommandError, match="--out DIR"):
        call_command("report", campaign="none", format="hf")
