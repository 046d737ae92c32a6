"""The data model of a mixture: task types and their templates, tasks, sub-mixtures.

A task reads its examples on first use (a local JSONL file, or a hub dataset for users with the
hub), so that describing a mixture in the web process never downloads anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

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
                self._examples = read_jsonl(self.data, task=self.name)
            else:
                self._examples = load_hf(self)
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


def read_jsonl(path: Path, *, task: str) -> list[dict[str, Any]]:
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


def load_hf(task: Task) -> list[dict[str, Any]]:
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
