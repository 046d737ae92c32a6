"""The sampling engine on tiny models built in-process (causal Llama and seq2seq T5)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from generation.engine import Engine  # noqa: E402
from generation.model_kind import model_kind_detect  # noqa: E402
from generation.sampling import PromptRequest, SamplingParams  # noqa: E402
from generation.tiny import byte_tokenizer, tiny_causal, tiny_seq2seq  # noqa: E402
from tests.generation.conftest import PROMPT_TEXTS, rescore  # noqa: E402

EOS = 1


def byte_id(char: str) -> int:
    return ord(char) + 3  # ByT5: 3 special ids come first


def make_engine(kind: str, **kwargs) -> Engine:
    model = tiny_causal(seed=3) if kind == "causal" else tiny_seq2seq(seed=4)
    return Engine(model, byte_tokenizer(), **kwargs)


def bias_logits(engine: Engine, boosts: dict[int, float]) -> None:
    """Make some tokens likely by changing the model itself (the scores see the same change)."""
    bias = torch.zeros(engine.model.config.vocab_size)
    for token, value in boosts.items():
        bias[token] = value
    engine.model.lm_head.register_forward_hook(lambda module, args, output: output + bias)


def requests(count: int = 5, stop: tuple[str, ...] = ()) -> list[PromptRequest]:
    return [
        PromptRequest(key=f"k{i}", text=PROMPT_TEXTS[i % len(PROMPT_TEXTS)], stop=stop) for i in range(count)
    ]


KINDS = ["causal", "seq2seq"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("top_k", "top_p"), [(0, 1.0), (20, 0.9)])
def test_every_prompt_gets_k_samples_whose_scores_equal_teacher_forced_raw_log_probs(kind, top_k, top_p):
    engine = make_engine(kind, batch_size=3)
    bias_logits(engine, {EOS: 2.5})  # some samples end early, others run to the limit
    params = SamplingParams(samples=4, temperature=0.7, top_k=top_k, top_p=top_p, max_new_tokens=24, seed=5)
    results = engine.generate(requests(5), params)
    assert [r.key for r in results] == [f"k{i}" for i in range(5)]
    reasons = set()
    for result in results:
        assert len(result.samples) == 4
        for sample in result.samples:
            reasons.add(sample.finish_reason)
            assert 1 <= sample.num_tokens <= 24
            expected = rescore(engine.model, kind, result.prompt_token_ids, sample.token_ids)
            assert sample.logprob_sum == pytest.approx(expected, abs=1e-4)
    assert "eos" in reasons
    assert len({s.num_tokens for r in results for s in r.samples}) > 1
    assert engine.last_path.startswith("fast")


@pytest.mark.parametrize("kind", KINDS)
def test_eos_ends_a_sample_is_counted_in_tokens_and_score_and_left_out_of_the_text(kind):
    engine = make_engine(kind)
    bias_logits(engine, {EOS: 4.0})
    results = engine.generate(requests(3), SamplingParams(samples=3, max_new_tokens=40, seed=1))
    ended = [s for r in results for s in r.samples if s.finish_reason == "eos"]
    assert ended
    for sample in ended:
        assert sample.token_ids[-1] == EOS
        assert EOS not in sample.token_ids[:-1]
        assert sample.text == engine.tokenizer.decode(sample.token_ids[:-1], skip_special_tokens=True)


@pytest.mark.parametrize("kind", KINDS)
def test_a_stop_string_cuts_the_text_before_it_and_keeps_the_tokens_up_to_the_one_that_completed_it(kind):
    engine = make_engine(kind)
    bias_logits(engine, {byte_id("x"): 5.0})
    results = engine.generate(requests(3, stop=("xx",)), SamplingParams(samples=3, max_new_tokens=60, seed=2))
    stopped = [(r, s) for r in results for s in r.samples if s.finish_reason == "stop"]
    assert len(stopped) >= 6
    for result, sample in stopped:
        full = engine.tokenizer.decode(sample.token_ids, skip_special_tokens=True)
        assert full.endswith("xx")
        assert "xx" not in engine.tokenizer.decode(sample.token_ids[:-1], skip_special_tokens=True)
        assert sample.text == full[:-2]
        assert "xx" not in sample.text
        expected = rescore(engine.model, kind, result.prompt_token_ids, sample.token_ids)
        assert sample.logprob_sum == pytest.approx(expected, abs=1e-4)


def test_the_earliest_of_several_stop_strings_wins():
    engine = make_engine("causal")
    bias_logits(engine, {byte_id("a"): 6.0, byte_id("b"): 6.0})
    results = engine.generate(
        requests(2, stop=("bb", "ab")), SamplingParams(samples=4, max_new_tokens=40, seed=3)
    )
    stopped = [s for r in results for s in r.samples if s.finish_reason == "stop"]
    # Every sample meets a stop string (a and b are all but certain); none stopping checks nothing.
    assert len(stopped) == 8
    endings = set()
    for sample in stopped:
        full = engine.tokenizer.decode(sample.token_ids)
        assert full.endswith(("bb", "ab"))
        endings.add(full[-2:])
        # The one that ended it is the first to complete: neither was complete one token earlier.
        assert "bb" not in full[:-1] and "ab" not in full[:-1]
        assert sample.text == full[:-2]
    assert endings == {"bb", "ab"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_seed_gives_the_same_samples_and_another_seed_other_samples(kind):
    engine = make_engine(kind)

    def run(seed: int) -> list[list[int]]:
        params = SamplingParams(samples=3, temperature=1.0, max_new_tokens=16, seed=seed)
        return [s.token_ids for r in engine.generate(requests(4), params) for s in r.samples]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_a_causal_prompt_never_ends_in_eos_although_the_byte_tokenizer_appends_it():
    engine = make_engine("causal")
    assert engine.tokenizer("hi")["input_ids"][-1] == EOS
    ids = engine.encode_prompt("hi")
    assert ids == [byte_id("h"), byte_id("i")]
    assert engine.encode_prompt("") != []


def test_a_seq2seq_prompt_keeps_the_encoder_eos():
    assert make_engine("seq2seq").encode_prompt("hi")[-1] == EOS


def test_finished_rows_are_dropped_from_the_batch_so_no_compute_is_spent_on_them():
    engine = make_engine("causal")
    bias_logits(engine, {EOS: 3.0})
    sizes: list[int] = []
    engine.model.model.register_forward_hook(
        lambda module, args, kwargs, output: sizes.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    engine.generate(requests(2), SamplingParams(samples=5, max_new_tokens=30, seed=4))
    assert sizes[0] == 2  # the prompts are prefilled once, not once per sample
    decode = sizes[1:]
    assert decode[0] <= 10
    assert decode == sorted(decode, reverse=True)
    assert decode[-1] < decode[0]


@pytest.mark.parametrize("kind", KINDS)
def test_the_generate_fallback_scores_from_raw_logits_too(kind):
    engine = make_engine(kind, fast_path=False)
    bias_logits(engine, {EOS: 2.0})
    results = engine.generate(requests(2), SamplingParams(samples=3, max_new_tokens=12, seed=6))
    assert "generate" in engine.last_path
    for result in results:
        assert len(result.samples) == 3
        for sample in result.samples:
            expected = rescore(engine.model, kind, result.prompt_token_ids, sample.token_ids)
            assert sample.logprob_sum == pytest.approx(expected, abs=1e-4)


def test_an_architecture_the_fast_path_cannot_serve_falls_back_to_generate_and_says_so(monkeypatch):
    engine = make_engine("causal")

    def unsupported(*args, **kwargs):
        raise NotImplementedError("no cache sharing here")

    monkeypatch.setattr(engine, "_fast_batch", unsupported)
    results = engine.generate(requests(2), SamplingParams(samples=2, max_new_tokens=5))
    assert all(len(r.samples) == 2 for r in results)
    assert engine.last_path.startswith("generate fallback (NotImplementedError")


def test_out_of_memory_halves_the_batch_and_goes_on(monkeypatch):
    engine = make_engine("causal", batch_size=4)
    real = engine._fast_batch
    seen: list[int] = []

    def limited(batch, params):
        seen.append(len(batch))
        if len(batch) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(batch, params)

    monkeypatch.setattr(engine, "_fast_batch", limited)
    results = engine.generate(requests(3), SamplingParams(samples=2, max_new_tokens=4))
    assert [r.key for r in results] == ["k0", "k1", "k2"]
    assert seen[:3] == [3, 2, 1]


def test_invalid_sampling_parameters_are_refused():
    engine = make_engine("causal")
    for params in (SamplingParams(temperature=0), SamplingParams(samples=0), SamplingParams(top_p=0)):
        with pytest.raises(ValueError):
            engine.generate(requests(1), params)


def test_a_directory_saved_by_save_tiny_loads_with_its_kind_detected(causal_dir, seq2seq_dir):
    assert model_kind_detect(str(causal_dir)) == "causal"
    assert model_kind_detect(str(seq2seq_dir)) == "seq2seq"
    for path in (causal_dir, seq2seq_dir):
        engine = Engine.load(str(path), device="cpu")
        assert next(engine.model.parameters()).dtype == torch.float32
        results = engine.generate(requests(2), SamplingParams(samples=2, max_new_tokens=6))
        assert all(len(r.samples) == 2 for r in results)


def test_the_chat_template_option_wraps_the_prompt_and_is_refused_without_a_template():
    tokenizer = byte_tokenizer()
    with pytest.raises(ValueError, match="chat template"):
        Engine(tiny_causal(), tokenizer, chat_template=True)
    tokenizer.chat_template = "{% for m in messages %}<u>{{ m['content'] }}</u>{% endfor %}{% if add_generation_prompt %}<a>{% endif %}"
    engine = Engine(tiny_causal(), tokenizer, chat_template=True)
    assert engine.encode_prompt("hi") == [byte_id(c) for c in "<u>hi</u><a>"]


def test_end_ids_listed_only_in_the_generation_config_also_end_a_sample():
    model = tiny_causal(seed=3)
    end_of_turn = byte_id("#")
    model.generation_config.eos_token_id = [EOS, end_of_turn]
    engine = Engine(model, byte_tokenizer())
    assert engine.eos_ids == {EOS, end_of_turn}
    bias_logits(engine, {end_of_turn: 5.0})
    results = engine.generate(requests(2), SamplingParams(samples=3, max_new_tokens=30, seed=1))
    ended = [s for r in results for s in r.samples if s.finish_reason == "eos"]
    assert ended and all(s.token_ids[-1] in engine.eos_ids for s in ended)


def test_a_stop_string_of_multibyte_characters_is_found_across_byte_tokens():
    engine = make_engine("causal")
    first, second = "é".encode()
    bias_logits(engine, {first + 3: 5.0, second + 3: 5.0})
    results = engine.generate(requests(2, stop=("éé",)), SamplingParams(samples=3, max_new_tokens=80, seed=7))
    stopped = [s for r in results for s in r.samples if s.finish_reason == "stop"]
    assert stopped
    for sample in stopped:
        # Random bytes are often invalid UTF-8, which decodes lossily: the rule that always
        # holds is "the text is the decoded tokens cut before the first stop string".
        full = engine.tokenizer.decode(sample.token_ids, skip_special_tokens=True)
        assert "éé" in full
        assert sample.text == full[: full.index("éé")]
        assert sample.token_ids[-1] == second + 3


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fallback", [False, True])
def test_min_new_tokens_keeps_eos_out_of_the_first_tokens_while_scores_stay_raw(kind, fallback):
    engine = make_engine(kind, batch_size=3, fast_path=not fallback)
    bias_logits(engine, {EOS: 6.0})  # without the floor nearly every sample would end at once
    params = SamplingParams(samples=3, max_new_tokens=12, min_new_tokens=5, seed=7)
    results = engine.generate(requests(3), params)
    for result in results:
        for sample in result.samples:
            assert sample.num_tokens >= 6 or sample.finish_reason == "length"
            assert EOS not in sample.token_ids[:5]
            expected = rescore(engine.model, kind, result.prompt_token_ids, sample.token_ids)
            assert sample.logprob_sum == pytest.approx(expected, abs=1e-4)
    assert engine.last_path.startswith("generate" if fallback else "fast")


def test_min_new_tokens_above_max_new_tokens_is_refused():
    with pytest.raises(ValueError, match="min_new_tokens"):
        SamplingParams(max_new_tokens=4, min_new_tokens=5).check()


def test_a_conversation_turn_goes_through_the_chat_template_with_the_models_earlier_answers():
    from generation.sample_types import PromptRequest

    tokenizer = byte_tokenizer()
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'][0] }}>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<a>{% endif %}"
    )
    engine = Engine(tiny_causal(), tokenizer, chat_template=True)
    request = PromptRequest(key="q#turn2", text="more", history=(("hi", "hello"),))
    assert engine.encode_prompt("more", request) == [byte_id(c) for c in "<u>hi<a>hello<u>more<a>"]
