"""The pure mixture core: templates, formats, mixing, validation, bundled data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from finetune import generators
from finetune import mixture as m


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def qa_rows(n: int, prefix: str = "q") -> list[dict]:
    return [{"question": f"{prefix} question {i}?", "answer": f"{prefix}{i}"} for i in range(n)]


def make_mixture(tmp_path: Path, body: dict, files: dict[str, list[dict]]) -> Path:
    for name, rows in files.items():
        write_jsonl(tmp_path / name, rows)
    path = tmp_path / "mix.json"
    path.write_text(json.dumps(body))
    return path


@pytest.fixture(scope="module")
def demo() -> m.Mixture:
    return m.load_mixture(m.DEMO_MIXTURE)


def test_every_task_type_has_at_least_eight_templates() -> None:
    types, triggers = m.load_template_files(m.builtin_template_files())
    assert len(types) >= 10
    for tt in types.values():
        assert len(tt.templates) >= 8, tt.name
    assert len(triggers) >= 8


def test_the_demo_mixture_has_ten_tasks_in_six_clusters_and_two_with_rationales(demo: m.Mixture) -> None:
    assert len(demo.tasks) >= 10
    assert len({t.type for t in demo.tasks}) >= 6
    with_rationale = [t for t in demo.tasks if all(r.get("rationale") for r in t.examples())]
    assert len(with_rationale) >= 2
    total = sum(p.stat().st_size for p in (m.DEMO_MIXTURE.parent / "tasks").glob("*.jsonl"))
    assert total < 5_000_000


def render_fmt(mix: m.Mixture, task_name: str, fmt: str, seed: int = 0) -> m.RenderedExample:
    task = mix.task(task_name)
    rows = task.examples()
    rng = random.Random(seed)
    return m.render(mix, task, rows[0], fmt=fmt, template_index=seed, rng=rng, exemplar_rows=rows[1:4])


def test_zero_shot_with_options_lists_every_option(demo: m.Mixture) -> None:
    for seed in range(len(m.OPTION_STYLES) * 2):
        ex = render_fmt(demo, "nli", "zero_shot_options", seed)
        row = demo.task("nli").examples()[0]
        for option in row["options"]:
            assert option in ex.input
        assert "{" not in ex.input
        assert ex.target == row["answer"]
        assert ex.exemplars == 0


def test_options_are_listed_in_several_styles(demo: m.Mixture) -> None:
    styles = set()
    for seed in range(40):
        ex = render_fmt(demo, "sentiment", "zero_shot_options", seed)
        styles.add(ex.input.split("positive")[0].splitlines()[-1][:10])
    assert len(styles) >= 4


def test_zero_shot_without_options_hides_them(demo: m.Mixture) -> None:
    for seed in range(10):
        ex = render_fmt(demo, "nli", "zero_shot", seed)
        assert "it is not possible to tell" not in ex.input
        assert "OPTIONS" not in ex.input and "{options}" not in ex.input


@pytest.mark.parametrize("fmt", ["few_shot", "few_shot_options", "cot_few_shot"])
def test_few_shot_formats_show_exemplars_with_one_delimiter_style(demo: m.Mixture, fmt: str) -> None:
    task = "arithmetic" if fmt.startswith("cot") else "nli"
    seen = set()
    for seed in range(16):
        ex = render_fmt(demo, task, fmt, seed)
        assert ex.exemplars >= 1
        a = next(a for _, a in m.DELIMITERS if ex.input.endswith("\n" + a))
        assert ex.input.count("\n" + a) == ex.exemplars + 1
        assert ex.separator == " "
        seen.add(a)
    assert len(seen) >= 3


def test_chain_of_thought_targets_end_in_a_parseable_answer(demo: m.Mixture) -> None:
    row = demo.task("dates").examples()[0]
    for fmt in ("cot_zero_shot", "cot_few_shot"):
        ex = render_fmt(demo, "dates", fmt)
        assert ex.target.startswith(row["rationale"])
        assert ex.target.endswith(f"So the answer is {row['answer']}.")
        assert m.parse_cot_answer(ex.target) == row["answer"]
    zero = render_fmt(demo, "dates", "cot_zero_shot")
    assert any(zero.input.endswith(t) for t in demo.cot_triggers)


def test_chain_of_thought_is_only_drawn_for_examples_with_a_rationale(demo: m.Mixture) -> None:
    for ex in m.sample_mixture(demo, 600, seed=3):
        if ex.format.startswith("cot_"):
            assert ex.task in ("arithmetic", "dates")
        if ex.format.endswith("_options"):
            assert ex.task in ("nli", "sentiment", "paraphrase")


def test_few_shot_exemplars_are_pruned_to_the_length_budget(demo: m.Mixture) -> None:
    demo_small = dataclasses.replace(demo, few_shot_max_chars=500)
    lengths = []
    for seed in range(30):
        ex = render_fmt(demo_small, "extractive_qa", "few_shot", seed)
        if ex.exemplars:
            assert len(ex.input) + len(ex.target) <= 500
        lengths.append(ex.exemplars)
    assert max(lengths) < 3  # three exemplars never fit in 500 characters


def test_input_inversion_asks_for_the_question_given_the_answer(demo: m.Mixture) -> None:
    task = demo.task("closed_book")
    row = task.examples()[0]
    ex = m.render(demo, task, row, fmt="zero_shot", template_index=0, rng=random.Random(0), inverted=True)
    assert ex.inverted
    assert row["answer"] in ex.input
    assert ex.target == row["question"]


def test_the_same_seed_gives_the_same_mixture_and_another_seed_another(demo: m.Mixture) -> None:
    a = m.sample_mixture(demo, 300, seed=7)
    b = m.sample_mixture(m.load_mixture(m.DEMO_MIXTURE), 300, seed=7)
    c = m.sample_mixture(demo, 300, seed=8)
    assert [e.as_dict() for e in a] == [e.as_dict() for e in b]
    assert [e.as_dict() for e in a] != [e.as_dict() for e in c]


def test_sampling_is_the_same_in_a_fresh_interpreter() -> None:
    code = (
        "import hashlib, json; from finetune import mixture as m;"
        "ex = m.sample_mixture(m.load_mixture(m.DEMO_MIXTURE), 50, seed=1);"
        "print(hashlib.sha256(json.dumps([e.as_dict() for e in ex]).encode()).hexdigest())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(s)},
            cwd=Path(__file__).resolve().parents[2],
        ).stdout
        for s in (1, 2)
    }
    assert len(runs) == 1


def test_mixing_rates_honour_caps_and_submixture_weights(tmp_path: Path) -> None:
    body = {
        "submixtures": [
            {
                "name": "s1",
                "weight": 3,
                "tasks": [
                    {"name": "big", "type": "closed_book_qa", "data": "big.jsonl", "cap": 100},
                    {"name": "small", "type": "closed_book_qa", "data": "small.jsonl", "cap": 1000},
                    {"name": "tiny", "type": "closed_book_qa", "data": "tiny.jsonl"},
                ],
            },
            {
                "name": "s2",
                "weight": 1,
                "tasks": [{"name": "other", "type": "closed_book_qa", "data": "o.jsonl"}],
            },
        ]
    }
    path = make_mixture(
        tmp_path,
        body,
        {
            "big.jsonl": qa_rows(1000, "b"),
            "small.jsonl": qa_rows(100, "s"),
            "tiny.jsonl": qa_rows(50, "t"),
            "o.jsonl": qa_rows(10, "o"),
        },
    )
    mix = m.load_mixture(path)
    rates = m.mixing_rates(mix)
    assert rates["big"] == pytest.approx(rates["small"])  # 1000 capped to 100 equals 100
    assert rates["tiny"] == pytest.approx(rates["small"] / 2)
    assert rates["big"] + rates["small"] + rates["tiny"] == pytest.approx(0.75)
    assert rates["other"] == pytest.approx(0.25)
    counts = Counter(e.task for e in m.sample_mixture(mix, 4000, seed=0))
    for name, rate in rates.items():
        assert counts[name] / 4000 == pytest.approx(rate, abs=0.03)
    big_targets = {
        e.target
        for e in m.sample_mixture(mix, 4000, seed=0)
        if e.task == "big" and not e.inverted and not e.format.startswith("few")
    }
    assert len(big_targets) <= 100  # only the capped pool is ever drawn


@pytest.mark.parametrize(
    ("case", "culprit"),
    [
        ("unknown_type", "unknown task type 'telepathy'"),
        ("missing_file", "nowhere.jsonl"),
        ("bad_placeholder", "{colour}"),
        ("empty", "empty"),
        ("missing_field", "lacks a text 'question'"),
    ],
)
def test_bad_mixtures_fail_with_a_message_naming_the_culprit(tmp_path: Path, case: str, culprit: str) -> None:
    task = {"name": "t1", "type": "closed_book_qa", "data": "t.jsonl"}
    body: dict = {"submixtures": [{"name": "s", "tasks": [task]}]}
    files = {"t.jsonl": qa_rows(3)}
    if case == "unknown_type":
        task["type"] = "telepathy"
    elif case == "missing_file":
        task["data"] = "nowhere.jsonl"
    elif case == "bad_placeholder":
        (tmp_path / "extra.yaml").write_text(
            "task_type: colours\nfields: [thing]\ntemplates:\n  - input: 'What {colour} is {thing}?'\n"
        )
        body["templates"] = ["extra.yaml"]
    elif case == "empty":
        body = {"submixtures": [{"name": "s", "tasks": []}]}
    elif case == "missing_field":
        files = {"t.jsonl": [{"answer": "x"}]}
    path = make_mixture(tmp_path, body, files)
    with pytest.raises(m.MixtureError) as info:
        m.load_mixture(path)
    assert culprit in str(info.value)
    if case in ("unknown_type", "missing_file", "missing_field"):
        assert "t1" in str(info.value)
    if case == "bad_placeholder":
        assert "extra.yaml" in str(info.value)


def test_a_hub_task_is_declared_without_loading_anything(tmp_path: Path) -> None:
    body = {
        "tasks": [
            {
                "name": "anli",
                "type": "nli",
                "hf_dataset": {
                    "name": "facebook/anli",
                    "split": "train_r1",
                    "fields": {"premise": "premise", "hypothesis": "hypothesis", "answer": "label"},
                },
            }
        ]
    }
    path = make_mixture(tmp_path, body, {})
    mix = m.load_mixture(path)
    assert mix.task("anli").hf_dataset is not None
    assert mix.task("anli")._examples is None


def test_generated_arithmetic_dates_and_sorting_are_correct() -> None:
    for row in generators.arithmetic(300, seed=5):
        last = re.findall(r"= (\d+)", row["rationale"])[-1]
        assert last == row["answer"]
        for a, op, b, c in re.findall(r"(\d+) ([-+x/]) (\d+) = (\d+)", row["rationale"]):
            ops = {"+": int(a) + int(b), "-": int(a) - int(b), "x": int(a) * int(b), "/": int(a) / int(b)}
            assert ops[op] == int(c)
    for row in generators.dates(300, seed=5):
        q = row["question"]
        if q.startswith("What is the date"):
            match = re.match(r"What is the date (\d+) days (after|before) (.+)\?", q)
            assert match is not None
            days, when, start = match.groups()
            d0 = dt.datetime.strptime(start, "%B %d, %Y").date()
            end = d0 + dt.timedelta(days=int(days) * (1 if when == "after" else -1))
            assert dt.datetime.strptime(row["answer"], "%B %d, %Y").date() == end
            assert row["rationale"].endswith(row["answer"] + ".")
        else:
            match = re.match(r"Today is a (\w+)\. .*?(\d+) days", q)
            assert match is not None
            day, n = match.groups()
            sign = -1 if "ago" in q else 1
            days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            assert row["answer"] == days[(days.index(day) + sign * int(n)) % 7]
    for row in generators.sorting(200, seed=5):
        items = row["items"].split(", ")
        if row["order"] == "alphabetical order":
            assert row["answer"].split(", ") == sorted(items)
        else:
            nums = sorted(map(int, items), reverse=row["order"].startswith("desc"))
            assert row["answer"] == ", ".join(map(str, nums))
    assert generators.arithmetic(20, seed=1) == generators.arithmetic(20, seed=1)


def test_the_bundled_generated_files_match_the_generators(tmp_path: Path) -> None:
    generators.write_all(tmp_path, seed=0)
    for name in ("arithmetic.jsonl", "dates.jsonl", "sorting.jsonl"):
        assert (tmp_path / name).read_text() == (m.DEMO_MIXTURE.parent / "tasks" / name).read_text()


def test_describing_a_hub_mixture_loads_nothing(tmp_path: Path) -> None:
    body = {
        "tasks": [
            {
                "name": "anli",
                "type": "nli",
                "hf_dataset": {
                    "name": "facebook/anli",
                    "fields": {"premise": "p", "hypothesis": "h", "answer": "label"},
                },
            }
        ]
    }
    summary = m.describe(m.load_mixture(make_mixture(tmp_path, body, {})))
    assert summary["tasks"][0]["size"] is None and summary["tasks"][0]["name"] == "anli"
