"""The one rule that tells a causal checkpoint from a seq2seq one (registry, engine and training)."""

from __future__ import annotations

import pytest

from generation.model_kind import CAUSAL, SEQ2SEQ, ModelKindError, kind_from_config, model_kind_detect


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"architectures": ["LlamaForCausalLM"]}, CAUSAL),
        ({"architectures": ["T5ForConditionalGeneration"]}, SEQ2SEQ),
        ({"architectures": ["BartForSeq2SeqLM"]}, SEQ2SEQ),
        ({"is_encoder_decoder": True}, SEQ2SEQ),
        ({}, CAUSAL),
    ],
)
def test_a_config_is_seq2seq_when_it_says_encoder_decoder_or_names_such_an_architecture(config, kind):
    assert kind_from_config(config) == kind


def test_a_local_config_decides_and_a_hub_id_is_only_looked_up_when_a_fetcher_is_given(tmp_path):
    (tmp_path / "config.json").write_text('{"is_encoder_decoder": true}')
    assert model_kind_detect(str(tmp_path)) == SEQ2SEQ
    assert model_kind_detect("org/model") == ""
    fetched: list[str] = []

    def fetch(path: str) -> dict[str, object]:
        fetched.append(path)
        return {"architectures": ["GPT2LMHeadModel"]}

    assert model_kind_detect("org/model", fetch_config=fetch) == CAUSAL
    assert fetched == ["org/model"]


def test_an_adapter_takes_its_task_type_or_else_its_base_models_kind(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"task_type": "SEQ_2_SEQ_LM"}')
    assert model_kind_detect(str(adapter)) == SEQ2SEQ
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (adapter / "adapter_config.json").write_text(f'{{"base_model_name_or_path": "{base}"}}')
    assert model_kind_detect(str(adapter)) == CAUSAL


def test_an_unreadable_config_is_an_error_that_names_the_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelKindError, match=r"config\.json"):
        model_kind_detect(str(tmp_path))
