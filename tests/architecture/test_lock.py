"""The lock files pin every dependency pyproject.toml names, at a version pyproject.toml accepts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        assert version, f"{path.name}: {line!r} is not an exact pin"
        pins[canonicalize_name(name)] = Version(version.strip())
    return pins


def _declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(text) for text in project["dependencies"]]
    if extra:
        declared += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return declared


@pytest.mark.parametrize(("lock", "extra"), [("main.txt", None), ("dev.txt", "dev")])
def test_the_lock_pins_every_declared_dependency_within_its_range(lock: str, extra: str | None) -> None:
    pins = _pins(ROOT / "requirements" / lock)
    problems = []
    for requirement in _declared(extra):
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is not in requirements/{lock}")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} is outside {requirement.specifier}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_the_site_lock_holds_no_test_tool() -> None:
    assert "pytest" not in _pins(ROOT / "requirements" / "main.txt")
