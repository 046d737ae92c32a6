"""Rendering one example: a template, a format (zero/few-shot, with or without options, CoT), a style.

Every choice is drawn from the caller's ``random.Random``, so a seed renders the same text.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from finetune.mixture.schema import FORMATS, Mixture, Task, Template

# The final sentence of every chain-of-thought target: fixed so the answer can be parsed.
COT_ANSWER_PREFIX = "So the answer is "
_COT_ANSWER_RE = re.compile(r"So the answer is (.+?)\.?\s*$", re.DOTALL)

# Few-shot delimiter styles (question prefix, answer prefix); one is drawn per example.
DELIMITERS: tuple[tuple[str, str], ...] = (
    ("Q: ", "A:"),
    ("Question: ", "Answer:"),
    ("Input: ", "Output:"),
    ("Problem: ", "Solution:"),
    ("Query: ", "Response:"),
    ("Instruction: ", "Response:"),
    ("", "Answer:"),
    ("[INPUT] ", "[OUTPUT]"),
)


def _options_dash(opts: Sequence[str]) -> str:
    return "OPTIONS:\n" + "\n".join(f"- {o}" for o in opts)


def _options_letters(opts: Sequence[str]) -> str:
    return "Options:\n" + "\n".join(f"({string.ascii_uppercase[i]}) {o}" for i, o in enumerate(opts))


def _options_inline(opts: Sequence[str]) -> str:
    return "Choose from: " + ", ".join(opts) + "."


def _options_numbered(opts: Sequence[str]) -> str:
    return "Possible answers:\n" + "\n".join(f"{i + 1}. {o}" for i, o in enumerate(opts))


def _options_brackets(opts: Sequence[str]) -> str:
    return "Pick one: " + " ".join(f"[{o}]" for o in opts)


def _options_pipe(opts: Sequence[str]) -> str:
    return "Select from the following: " + " | ".join(opts)


OPTION_STYLES: tuple[Callable[[Sequence[str]], str], ...] = (
    _options_dash,
    _options_letters,
    _options_inline,
    _options_numbered,
    _options_brackets,
    _options_pipe,
)


@dataclass(frozen=True)
class RenderedExample:
    task: str
    task_type: str
    format: str
    input: str
    target: str
    # Joins input and target: a newline after an instruction, a space after "A:".
    separator: str = "\n"
    template: str = ""
    exemplars: int = 0
    inverted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format_map(values)


def _strip_options_slot(text: str) -> str:
    # A template's "{options}" line disappears cleanly in the formats without options.
    text = re.sub(r"\n?[ \t]*\{options\}[ \t]*", "", text)
    return text.rstrip()


def _render_input(template: Template, row: dict[str, Any], options_text: str | None) -> str:
    values = {k: str(v) for k, v in row.items() if isinstance(v, str | int | float)}
    if options_text is None:
        return _fill(_strip_options_slot(template.input), values).strip()
    if "{options}" in template.input:
        return _fill(template.input, {**values, "options": options_text}).strip()
    return (_fill(template.input, values).strip() + "\n" + options_text).strip()


def cot_target(rationale: str, answer: str) -> str:
    return f"{rationale.strip()} {COT_ANSWER_PREFIX}{answer.strip()}."


def parse_cot_answer(text: str) -> str | None:
    """The answer of a chain-of-thought output, read from its fixed final sentence."""
    match = _COT_ANSWER_RE.search(text.strip())
    return match.group(1).strip() if match else None


def eligible_formats(row: dict[str, Any]) -> list[str]:
    has_options = bool(row.get("options"))
    has_rationale = bool(row.get("rationale"))
    out = []
    for f in FORMATS:
        if f.endswith("_options") and not has_options:
            continue
        if f.startswith("cot_") and not has_rationale:
            continue
        out.append(f)
    return out


def render(
    mixture: Mixture,
    task: Task,
    row: dict[str, Any],
    *,
    fmt: str,
    template_index: int,
    rng: random.Random,
    exemplar_rows: Sequence[dict[str, Any]] = (),
    inverted: bool = False,
    length_fn: Callable[[str], int] = len,
) -> RenderedExample:
    """Render one example in a given format (the building block of `render_example`)."""
    tt = mixture.task_types[task.type]
    if inverted:
        tpl = tt.inverted[template_index % len(tt.inverted)]
        values = {k: str(v) for k, v in row.items() if isinstance(v, str | int | float)}
        return RenderedExample(
            task=task.name,
            task_type=task.type,
            format="zero_shot",
            input=_fill(_strip_options_slot(tpl.input), values).strip(),
            target=_fill(tpl.target, values).strip(),
            template=tpl.source,
            inverted=True,
        )
    tpl = tt.templates[template_index % len(tt.templates)]
    with_options = fmt.endswith("_options")
    options_style = rng.choice(OPTION_STYLES)
    cot = fmt.startswith("cot_")

    def parts(r: dict[str, Any]) -> tuple[str, str]:
        options_text = options_style(r["options"]) if with_options and r.get("options") else None
        inp = _render_input(tpl, r, options_text)
        target = _fill(tpl.target, {k: str(v) for k, v in r.items() if isinstance(v, str)}).strip()
        if cot:
            target = cot_target(str(r.get("rationale", "")), target)
        return inp, target

    query_input, query_target = parts(row)
    if fmt in ("zero_shot_options", "zero_shot"):
        return RenderedExample(task.name, task.type, fmt, query_input, query_target, "\n", tpl.source)
    if fmt == "cot_zero_shot":
        trigger = rng.choice(mixture.cot_triggers)
        return RenderedExample(
            task.name, task.type, fmt, f"{query_input}\n\n{trigger}", query_target, "\n", tpl.source
        )

    q, a = rng.choice(DELIMITERS)
    shots = [parts(r) for r in exemplar_rows]

    def assemble(n: int) -> str:
        blocks = [f"{q}{inp}\n{a} {tgt}" for inp, tgt in shots[:n]]
        blocks.append(f"{q}{query_input}\n{a}")
        return "\n\n".join(blocks)

    n = len(shots)
    # Drop exemplars from the end until the prompt and its target fit the budget.
    while n > 0 and length_fn(assemble(n)) + length_fn(query_target) > mixture.few_shot_max_chars:
        n -= 1
    if n == 0:
        zero = "cot_zero_shot" if cot else ("zero_shot_options" if with_options else "zero_shot")
        return render(mixture, task, row, fmt=zero, template_index=template_index, rng=rng)
    return RenderedExample(task.name, task.type, fmt, assemble(n), query_target, " ", tpl.source, exemplars=n)


def render_example(
    mixture: Mixture,
    task: Task,
    index: int,
    rng: random.Random,
    *,
    length_fn: Callable[[str], int] = len,
) -> RenderedExample:
    """Render example ``index`` of ``task`` in a format, template and style drawn from ``rng``."""
    rows = task.examples()
    row = rows[index]
    tt = mixture.task_types[task.type]
    if tt.inverted and mixture.inversion_rate > 0 and rng.random() < mixture.inversion_rate:
        return render(
            mixture,
            task,
            row,
            fmt="zero_shot",
            template_index=rng.randrange(len(tt.inverted)),
            rng=rng,
            inverted=True,
        )
    formats = eligible_formats(row)
    weights = [mixture.format_weights.get(f, 0.0) for f in formats]
    if sum(weights) <= 0:
        formats, weights = ["zero_shot"], [1.0]
    fmt = rng.choices(formats, weights=weights, k=1)[0]
    exemplars: list[dict[str, Any]] = []
    if fmt in ("few_shot", "few_shot_options", "cot_few_shot") and len(rows) > 1:
        k = rng.randint(1, max(1, min(mixture.max_exemplars, len(rows) - 1)))
        others = [i for i in rng.sample(range(len(rows)), min(len(rows), k + 1)) if i != index][:k]
        exemplars = [rows[i] for i in others]
        if fmt == "cot_few_shot":
            exemplars = [r for r in exemplars if r.get("rationale")]
        if fmt == "few_shot_options":
            exemplars = [r for r in exemplars if r.get("options")]
    return render(
        mixture,
        task,
        row,
        fmt=fmt,
        template_index=rng.randrange(len(tt.templates)),
        rng=rng,
        exemplar_rows=exemplars,
        length_fn=length_fn,
    )
