"""Flan-style mixtures: tasks, instruction templates, rendering formats and mixing.

Pure Python (no Django, no torch) and deterministic for a seed, so that a job can be
re-rendered identically when it resumes and the rules can be tested exhaustively.

A mixture file (YAML or JSON) looks like::

    name: demo
    seed: 0
    templates: [extra_templates.yaml]        # optional, relative to this file
    formats: {zero_shot_options: 1, zero_shot: 1, few_shot_options: 1, few_shot: 1,
              cot_zero_shot: 1, cot_few_shot: 1}
    few_shot: {max_exemplars: 3, max_chars: 1500}
    inversion_rate: 0.1
    default_cap: 3000
    submixtures:
      - name: flan
        weight: 0.7
        tasks:
          - {name: nli_demo, type: nli, data: tasks/nli.jsonl, cap: 1000, weight: 1.0}
          - name: anli
            type: nli
            hf_dataset: {name: facebook/anli, split: train_r1,
                         fields: {premise: premise, hypothesis: hypothesis, answer: label},
                         options: ["yes", "it is not possible to tell", "no"]}

Each JSONL example holds the task type's fields plus ``answer``; optionally ``options``
(the answer choices) and ``rationale`` (the reasoning for chain-of-thought targets).
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

TEMPLATES_DIR = Path(__file__).resolve().parent / "data" / "templates"
DEMO_MIXTURE = Path(__file__).resolve().parent / "data" / "demo_mixture.yaml"

FORMATS = (
    "zero_shot_options",
    "zero_shot",
    "few_shot_options",
    "few_shot",
    "cot_zero_shot",
    "cot_few_shot",
)
# Placeholders every task type may use besides its own fields.
COMMON_PLACEHOLDERS = frozenset({"answer", "options"})

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


class MixtureError(ValueError):
    """A mixture, template or data file that cannot be used; the message names the culprit."""


@dataclass(frozen=True)
class Template:
    input: str
    target: str = "{answer}"
    source: str = ""  # "file.yaml#3", for error messages and the record of what was used


@dataclass(frozen=True)
class TaskType:
    name: str
    fields: tuple[str, ...]
    templates: tuple[Template, ...]
    inverted: tuple[Template, ...] = ()

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(self.fields) | COMMON_PLACEHOLDERS


@dataclass
class Task:
    name: str
    type: str
    cap: int
    weight: float
    data: Path | None = None
    hf_dataset: dict[str, Any] | None = None
    _examples: list[dict[str, Any]] | None = field(default=None, repr=False)

    def examples(self) -> list[dict[str, Any]]:
        if self._examples is None:
            if self.data is not None:
                self._examples = _read_jsonl(self.data, task=self.name)
            else:
                self._examples = _load_hf(self)
        return self._examples

    def size(self) -> int:
        return len(self.examples())

    def capped_size(self) -> int:
        return min(self.size(), self.cap)


@dataclass
class SubMixture:
    name: str
    weight: float
    tasks: list[Task]


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


@dataclass
class Mixture:
    name: str
    path: Path | None
    submixtures: list[SubMixture]
    task_types: dict[str, TaskType]
    cot_triggers: tuple[str, ...]
    seed: int = 0
    format_weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FORMATS, 1.0))
    max_exemplars: int = 3
    few_shot_max_chars: int = 1500
    inversion_rate: float = 0.0

    @property
    def tasks(self) -> list[Task]:
        return [t for s in self.submixtures for t in s.tasks]

    @cached_property
    def _by_name(self) -> dict[str, Task]:
        return {t.name: t for t in self.tasks}

    def task(self, name: str) -> Task:
        return self._by_name[name]


# --- loading -------------------------------------------------------------------------


def _read_structured(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MixtureError(f"file not found: {path}") from None
    except OSError as exc:
        raise MixtureError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise MixtureError(
            f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None


def _read_jsonl(path: Path, *, task: str) -> list[dict[str, Any]]:
    if not path.is_file():
        raise MixtureError(f"task {task!r}: data file not found: {path}")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MixtureError(
                    f"task {task!r}: {path.name} line {number}: invalid JSON ({exc.msg})"
                ) from None
            if not isinstance(row, dict):
                raise MixtureError(f"task {task!r}: {path.name} line {number}: expected a JSON object")
            rows.append(row)
    return rows


def _load_hf(task: Task) -> list[dict[str, Any]]:
    """Load a hub dataset on demand (users with the hub only; never in tests)."""
    spec = task.hf_dataset or {}
    try:
        import datasets  # type: ignore[import-not-found]
    except ImportError:
        raise MixtureError(
            f"task {task.name!r}: hf_dataset needs the 'datasets' package (pip install datasets)"
        ) from None
    ds = datasets.load_dataset(spec["name"], spec.get("config"), split=spec.get("split", "train"))
    mapping: dict[str, str] = spec.get("fields", {})
    options = spec.get("options")
    rows = []
    for record in ds:
        row = {ours: record[theirs] for ours, theirs in mapping.items()}
        if options is not None:
            row["options"] = list(options)
            if isinstance(row.get("answer"), int):
                if not 0 <= row["answer"] < len(options):
                    continue  # unlabelled rows (label -1) carry no answer
                row["answer"] = options[row["answer"]]
        rows.append(row)
    return rows


def _placeholders(text: str) -> set[str]:
    names: set[str] = set()
    for _, name, spec, conv in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            raise ValueError(f"unsupported placeholder {{{name}}}")
        names.add(name)
    return names


def _parse_templates(raw: Any, where: str, key: str, *, target_default: str) -> list[Template]:
    items = raw.get(key) or []
    if not isinstance(items, list):
        raise MixtureError(f"{where}: '{key}' must be a list")
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"input": item}
        if not isinstance(item, dict) or not isinstance(item.get("input"), str):
            raise MixtureError(f"{where}: {key}[{i}] needs an 'input' string")
        out.append(
            Template(
                input=item["input"],
                target=str(item.get("target", target_default)),
                source=f"{where}#{key}[{i}]",
            )
        )
    return out


def load_task_type(path: Path) -> TaskType:
    raw = _read_structured(path)
    where = path.name
    if not isinstance(raw, dict) or not raw.get("task_type"):
        raise MixtureError(f"template file {where}: needs 'task_type'")
    fields = raw.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise MixtureError(f"template file {where}: 'fields' must be a list of names")
    templates = _parse_templates(raw, where, "templates", target_default="{answer}")
    if not templates:
        raise MixtureError(f"template file {where}: no templates for task type {raw['task_type']!r}")
    inverted = _parse_templates(raw, where, "inverted", target_default="")
    tt = TaskType(str(raw["task_type"]), tuple(fields), tuple(templates), tuple(inverted))
    for tpl in (*tt.templates, *tt.inverted):
        if not tpl.target:
            raise MixtureError(f"template {tpl.source}: an inverted template needs a 'target'")
        for part in (tpl.input, tpl.target):
            try:
                names = _placeholders(part)
            except ValueError as exc:
                raise MixtureError(f"template {tpl.source}: {exc}") from None
            unknown = names - tt.placeholders
            if unknown:
                raise MixtureError(
                    f"template {tpl.source}: unknown placeholder {{{sorted(unknown)[0]}}} "
                    f"(task type {tt.name!r} allows {', '.join(sorted(tt.placeholders))})"
                )
    return tt


def load_template_files(paths: Sequence[Path]) -> tuple[dict[str, TaskType], tuple[str, ...]]:
    types: dict[str, TaskType] = {}
    triggers: tuple[str, ...] = ()
    for path in paths:
        if path.name == "_cot_triggers.yaml":
            raw = _read_structured(path)
            triggers = tuple(str(t) for t in (raw or {}).get("cot_triggers", []))
            continue
        tt = load_task_type(path)
        types[tt.name] = tt
    return types, triggers


def builtin_template_files() -> list[Path]:
    return sorted(TEMPLATES_DIR.glob("*.yaml"))


def _number(raw: dict[str, Any], key: str, default: float, where: str, *, minimum: float = 0.0) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise MixtureError(f"{where}: '{key}' must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def load_mixture(path: Path | str, *, check_data: bool = True) -> Mixture:
    """Read and validate a mixture file; raises MixtureError naming the culprit.

    With ``check_data`` every local JSONL file is read now, so that a missing file, a bad
    line or an example without the fields its templates need fails before any training.
    """
    path = Path(path)
    if not path.exists():
        raise MixtureError(f"mixture file not found: {path}")
    raw = _read_structured(path)
    if not isinstance(raw, dict):
        raise MixtureError(f"mixture {path.name}: expected a mapping at the top level")
    base = path.parent

    extra = raw.get("templates") or []
    if not isinstance(extra, list):
        raise MixtureError(f"mixture {path.name}: 'templates' must be a list of files")
    extra_paths = [base / str(p) for p in extra]
    for p in extra_paths:
        if not p.is_file():
            raise MixtureError(f"mixture {path.name}: template file not found: {p}")
    task_types, triggers = load_template_files([*builtin_template_files(), *extra_paths])

    formats = raw.get("formats") or dict.fromkeys(FORMATS, 1.0)
    if not isinstance(formats, dict):
        raise MixtureError(f"mixture {path.name}: 'formats' must map format names to weights")
    for name in formats:
        if name not in FORMATS:
            raise MixtureError(f"mixture {path.name}: unknown format {name!r} (known: {', '.join(FORMATS)})")
    format_weights = {f: _number(formats, f, 0.0, f"mixture {path.name}") for f in FORMATS}
    if sum(format_weights.values()) <= 0:
        raise MixtureError(f"mixture {path.name}: every format has weight 0")
    few = raw.get("few_shot") or {}
    default_cap = int(_number(raw, "default_cap", 3000, f"mixture {path.name}", minimum=1))

    submixtures: list[SubMixture] = []
    raw_subs = raw.get("submixtures")
    if raw_subs is None and "tasks" in raw:
        raw_subs = [{"name": "main", "weight": 1.0, "tasks": raw["tasks"]}]
    if not isinstance(raw_subs, list):
        raise MixtureError(f"mixture {path.name}: needs 'submixtures' (a list) or 'tasks'")
    seen: set[str] = set()
    for i, sub in enumerate(raw_subs):
        if not isinstance(sub, dict):
            raise MixtureError(f"mixture {path.name}: submixtures[{i}] must be a mapping")
        sub_name = str(sub.get("name", f"submixture{i}"))
        where = f"mixture {path.name}, sub-mixture {sub_name!r}"
        tasks: list[Task] = []
        for j, t in enumerate(sub.get("tasks") or []):
            if not isinstance(t, dict) or not t.get("name"):
                raise MixtureError(f"{where}: tasks[{j}] needs a 'name'")
            task_name = str(t["name"])
            twhere = f"mixture {path.name}, task {task_name!r}"
            if task_name in seen:
                raise MixtureError(f"{twhere}: the name is used twice")
            seen.add(task_name)
            ttype = t.get("type")
            if ttype not in task_types:
                raise MixtureError(
                    f"{twhere}: unknown task type {ttype!r} (known: {', '.join(sorted(task_types))})"
                )
            if bool(t.get("data")) == bool(t.get("hf_dataset")):
                raise MixtureError(f"{twhere}: give exactly one of 'data' (a JSONL file) or 'hf_dataset'")
            hf = t.get("hf_dataset")
            if hf is not None and (not isinstance(hf, dict) or not hf.get("name")):
                raise MixtureError(f"{twhere}: 'hf_dataset' needs a 'name'")
            data = base / str(t["data"]) if t.get("data") else None
            if data is not None and not data.is_file():
                raise MixtureError(f"{twhere}: data file not found: {data}")
            task = Task(
                name=task_name,
                type=str(ttype),
                cap=int(_number(t, "cap", default_cap, twhere, minimum=1)),
                weight=_number(t, "weight", 1.0, twhere),
                data=data,
                hf_dataset=hf,
            )
            if hf is not None:
                mapped = set((hf.get("fields") or {}).keys())
                missing = (set(task_types[task.type].fields) | {"answer"}) - mapped
                if missing:
                    raise MixtureError(f"{twhere}: hf_dataset 'fields' lacks {', '.join(sorted(missing))}")
            tasks.append(task)
        submixtures.append(SubMixture(sub_name, _number(sub, "weight", 1.0, where), tasks))

    mixture = Mixture(
        name=str(raw.get("name", path.stem)),
        path=path,
        submixtures=submixtures,
        task_types=task_types,
        cot_triggers=triggers or ("Let's think step by step.",),
        seed=int(raw.get("seed", 0)),
        format_weights=format_weights,
        max_exemplars=int(_number(few, "max_exemplars", 3, f"mixture {path.name}")),
        few_shot_max_chars=int(_number(few, "max_chars", 1500, f"mixture {path.name}", minimum=1)),
        inversion_rate=_number(raw, "inversion_rate", 0.0, f"mixture {path.name}"),
    )
    if not mixture.tasks:
        raise MixtureError(f"mixture {path.name}: the mixture is empty (no tasks)")
    if check_data:
        validate_data(mixture)
    return mixture


def validate_data(mixture: Mixture) -> None:
    """Read every local data file and check each example against its task type."""
    total_weight = 0.0
    for sub in mixture.submixtures:
        for task in sub.tasks:
            if task.data is None:
                total_weight += sub.weight * task.weight  # hub data is checked when it loads
                continue
            rows = task.examples()
            if not rows:
                raise MixtureError(f"task {task.name!r}: data file {task.data.name} has no examples")
            needed = (*mixture.task_types[task.type].fields, "answer")
            for number, row in enumerate(rows, start=1):
                for name in needed:
                    if not isinstance(row.get(name), str) or not row[name].strip():
                        raise MixtureError(
                            f"task {task.name!r}: {task.data.name} example {number} lacks a text '{name}'"
                        )
                opts = row.get("options")
                if opts is not None and (
                    not isinstance(opts, list) or not opts or not all(isinstance(o, str) for o in opts)
                ):
                    raise MixtureError(
                        f"task {task.name!r}: {task.data.name} example {number}: 'options' must be a list of strings"
                    )
            total_weight += sub.weight * task.weight
    if total_weight <= 0:
        raise MixtureError(f"mixture {mixture.name!r}: the mixture is empty (every weight is 0)")


# --- mixing --------------------------------------------------------------------------


def mixing_rates(mixture: Mixture) -> dict[str, float]:
    """Examples-proportional rates with a per-task cap, then sub-mixture weights on top.

    Within a sub-mixture a task's share is ``min(size, cap) * weight`` over the sum of
    those; a sub-mixture's tasks together get its weight over the sum of sub-mixture
    weights. Rates sum to 1.
    """
    sub_total = sum(s.weight for s in mixture.submixtures if s.tasks)
    rates: dict[str, float] = {}
    for sub in mixture.submixtures:
        sizes = {t.name: t.capped_size() * t.weight for t in sub.tasks}
        total = sum(sizes.values())
        for name, size in sizes.items():
            rates[name] = (sub.weight / sub_total) * (size / total) if total > 0 and sub_total > 0 else 0.0
    norm = sum(rates.values())
    if norm <= 0:
        raise MixtureError(f"mixture {mixture.name!r}: the mixture is empty (no examples to draw)")
    return {k: v / norm for k, v in rates.items()}


def sample_mixture(
    mixture: Mixture,
    num_examples: int | None = None,
    *,
    seed: int | None = None,
    length_fn: Callable[[str], int] = len,
) -> list[RenderedExample]:
    """Draw and render ``num_examples`` examples (default: the sum of capped task sizes).

    Tasks are drawn by their mixing rate; within a task, examples come from a seeded
    shuffle of its first ``cap`` examples, cycling when exhausted. Same seed, same list.
    """
    seed = mixture.seed if seed is None else seed
    rng = random.Random(seed)
    rates = mixing_rates(mixture)
    names = [n for n, r in rates.items() if r > 0]
    weights = [rates[n] for n in names]
    if num_examples is None:
        num_examples = sum(mixture.task(n).capped_size() for n in names)
    pools: dict[str, Iterator[int]] = {}

    def cycle(task: Task) -> Iterator[int]:
        order = list(range(task.size()))
        random.Random(f"{seed}:{task.name}").shuffle(order)
        order = order[: task.cap]
        while True:
            yield from order

    out = []
    for name in rng.choices(names, weights=weights, k=num_examples):
        task = mixture.task(name)
        if name not in pools:
            pools[name] = cycle(task)
        index = next(pools[name])
        out.append(render_example(mixture, task, index, rng, length_fn=length_fn))
    return out


# --- rendering -----------------------------------------------------------------------


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


def describe(mixture: Mixture) -> dict[str, Any]:
    """A JSON-able summary: tasks, sizes, caps and rates (for the job record)."""
    # Hub tasks are not loaded just to describe them (the web process creates jobs).
    local = all(t.data is not None or t._examples is not None for t in mixture.tasks)
    rates = mixing_rates(mixture) if local else {}
    return {
        "name": mixture.name,
        "path": str(mixture.path) if mixture.path else None,
        "tasks": [
            {
                "name": t.name,
                "type": t.type,
                "submixture": s.name,
                "size": t.size() if local else None,
                "cap": t.cap,
                "rate": round(rates[t.name], 6) if local else None,
            }
            for s in mixture.submixtures
            for t in s.tasks
        ],
    }
