"""Where a model's weights are, and one loaded model per worker process.

Torch-free: the loaders come from the caller (generation's engine, judging's verdict model), so the
web process can check a path without importing what loads one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from core.errors import RequestError

LoadedT = TypeVar("LoadedT")


class ModelPathError(RequestError):
    """A model path that cannot be loaded; the message says why, for the person who gave it."""


def _looks_local(path: str) -> bool:
    """A Hugging Face id is `name` or `org/name`; anything else path-like is a local directory."""
    return (
        os.path.isabs(path)
        or path.startswith((".", "~"))
        or path.count("/") > 1
        or "\\" in path
        or Path(path).exists()
    )


def model_path_check(*, path: str) -> str:
    """The path to load, or ModelPathError when it is empty or a local directory is missing."""
    path = path.strip()
    if not path:
        raise ModelPathError("the model path is empty: give a Hugging Face id or a local directory")
    if _looks_local(path):
        local = Path(path).expanduser()
        if not local.is_dir():
            raise ModelPathError(f"model directory {path!r} does not exist")
        return str(local)
    return path


class LoadableModel(Protocol):
    """What a registered model (generation.ModelSpec) tells a loader."""

    path: str
    kind: str
    dtype: str
    chat_template: bool


class ModelCache(Generic[LoadedT]):
    """One loaded model per worker process (the last one used), so a job's chunks do not reload it.

    Only the last one: a GPU worker holds one model's weights at a time.
    """

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str, str, bool], LoadedT] = {}

    def get(self, spec: LoadableModel, load: Callable[..., LoadedT]) -> LoadedT:
        """The model `spec` names, loaded by `load(path, kind=, dtype=, chat_template=)` if it is new."""
        path = model_path_check(path=spec.path)
        key = (path, spec.kind, spec.dtype, spec.chat_template)
        if key not in self._loaded:
            self._loaded.clear()
            self._loaded[key] = load(
                path, kind=spec.kind or None, dtype=spec.dtype, chat_template=spec.chat_template
            )
        return self._loaded[key]

    def clear(self) -> None:
        self._loaded.clear()
