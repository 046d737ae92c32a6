"""Packing: isolation between packed examples, label masking, efficiency."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
# Tiny models run fastest on one thread, and the CI machine is shared.
torch.set_num_threads(1)

from finetune import mixture as m  # noqa: E402
from finetune import packing  # noqa: E402
from generation.tiny import byte_tokenizer, tiny_causal  # noqa: E402

SEQ = 96


@pytest.fixture(scope="module")
def tok():
    return byte_tokenizer()


@pytest.fixture(scope="module")
def model():
    return tiny_causal(seed=3, attn_implementation="sdpa")


def logits_of(model, rows):
    batch = packing.collate_packed(rows, SEQ, pad_id=0)
    with torch.no_grad():
        return model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=batch["position_ids"],
        ).logits


def span(row, member):
    k = row.members.index(member)
    start = sum(row.lengths[:k])
    return start, start + row.lengths[k]


def test_changing_one_packed_example_leaves_the_others_logits_unchanged(tok, model) -> None:
    texts = [
        ("Is the sky blue?", "yes"),
        ("Sort: c, a, b", "a, b, c"),
        ("", "plain text to model"),
        ("2+2=", "4"),
    ]
    exs = [packing.tokenize_causal(tok, i, t, max_len=SEQ) for i, t in texts]
    rows = packing.pack(exs, SEQ)
    assert len(rows) == 1 and sorted(rows[0].members) == [0, 1, 2, 3]
    changed = list(exs)
    changed[1] = packing.tokenize_causal(tok, "Sort: z, y, x", "x, y, z", max_len=SEQ)
    rows2 = packing.pack(changed, SEQ)
    assert rows2[0].members == rows[0].members  # same lengths, same places
    before, after = logits_of(model, rows)[0], logits_of(model, rows2)[0]
    for member in (0, 2, 3):
        s, e = span(rows[0], member)
        assert torch.equal(before[s:e], after[s:e])
    s, e = span(rows[0], 1)
    assert not torch.allclose(before[s:e], after[s:e])
    # And each example's logits are those of the example run on its own.
    for member in (0, 2, 3):
        s, e = span(rows[0], member)
        with torch.no_grad():
            alone = model(input_ids=torch.tensor([exs[member].input_ids])).logits[0]
        assert torch.allclose(before[s:e], alone, atol=1e-5)


def test_without_the_mask_packed_examples_would_leak(tok, model) -> None:
    exs = [
        packing.tokenize_causal(tok, "abc", "def", max_len=SEQ),
        packing.tokenize_causal(tok, "ghi", "jkl", max_len=SEQ),
    ]
    rows = packing.pack(exs, SEQ)
    batch = packing.collate_packed(rows, SEQ, pad_id=0, with_mask=False)
    with torch.no_grad():
        unmasked = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
    s, e = span(rows[0], rows[0].members[1])
    assert not torch.allclose(unmasked[s:e], logits_of(model, rows)[0][s:e])


def test_labels_cover_only_the_target_tokens(tok) -> None:
    ex = packing.tokenize_causal(tok, "Question?", "Answer", max_len=SEQ, separator="\n")
    n_in = len(tok("Question?", add_special_tokens=False)["input_ids"])
    target = tok("\nAnswer", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert ex.labels[:n_in] == [packing.IGNORE] * n_in
    assert ex.labels[n_in:] == target
    assert ex.input_ids[n_in:] == target
    rows = packing.pack([ex, packing.tokenize_causal(tok, "", "lm text", max_len=SEQ)], SEQ)
    batch = packing.collate_packed(rows, SEQ, pad_id=0)
    labels = batch["labels"][0]
    used = rows[0].real_tokens
    assert (labels[used:] == packing.IGNORE).all()  # padding never counts
    for member in rows[0].members:
        s, _ = span(rows[0], member)
        assert labels[s] == packing.IGNORE  # nothing is predicted across an example boundary
    assert int((labels != packing.IGNORE).sum()) == len(target) + len("lm text")


def test_the_mask_is_block_diagonal_causal_and_padding_rows_are_never_empty(tok) -> None:
    exs = [
        packing.tokenize_causal(tok, "ab", "c", max_len=16),
        packing.tokenize_causal(tok, "de", "f", max_len=16),
    ]
    rows = packing.pack(exs, 16)
    mask = packing.block_causal_mask(rows, 16)[0, 0]
    n0 = rows[0].lengths[0]
    assert mask[n0, n0 - 1] == float("-inf")  # second example cannot see the first
    assert mask[n0 + 1, n0] == 0 and mask[n0, n0 + 1] == float("-inf")  # causal inside
    assert torch.isfinite(mask).any(dim=-1).all()


def test_long_examples_keep_their_target_and_the_end_of_the_input(tok) -> None:
    ex = packing.tokenize_causal(tok, "x" * 200 + "END", "target", max_len=32)
    assert len(ex) == 32
    target = tok("\ntarget", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert ex.input_ids[-len(target) :] == target
    assert bytes(i - 3 for i in ex.input_ids[: -len(target)]).endswith(b"xxEND")


def test_packing_the_demo_mixture_is_at_least_95_percent_efficient(tok) -> None:
    rendered = m.sample_mixture(m.load_mixture(m.DEMO_MIXTURE), 800, seed=0)
    exs = [
        packing.tokenize_causal(tok, r.input, r.target, max_len=512, separator=r.separator) for r in rendered
    ]
    rows = packing.pack(exs, 512)
    assert sorted(i for r in rows for i in r.members) == list(range(len(exs)))
    assert all(len(r.input_ids) <= 512 for r in rows)
    assert packing.packing_efficiency(rows, 512) >= 0.95
    assert packing.packing_efficiency(rows, 512) > packing.padded_efficiency(
        [exs[i : i + 8] for i in range(0, 800, 8)]
    )
