"""Reading and validating mixture files, template files and task data; errors name the culprit.

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
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from finetune.mixture.schema import (
    FORMATS,
    Mixture,
    MixtureError,
    SubMixture,
    Task,
    TaskType,
    Template,
)

_DATA = Path(__file__).resolve().parent.parent / "data"
TEMPLATES_DIR = _DATA / "templates"
DEMO_MIXTURE = _DATA / "demo_mixture.yaml"


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
