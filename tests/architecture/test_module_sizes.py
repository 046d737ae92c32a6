"""Small modules: a reader should find where a line belongs without scrolling a 700-line file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
SOURCE_SUFFIXES = {".py", ".js", ".css", ".html", ".sh"}
SKIPPED_PARTS = {".venv", ".venv-vllm", "var", "node_modules", "migrations", "data", ".git", "__pycache__"}


def _source_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if set(relative.parts) & SKIPPED_PARTS or relative.parts[0].startswith("."):
            continue
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            files.append(path)
    return files


def test_the_walk_sees_the_project_sources() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _source_files()}
    assert "manage.py" in names
    assert "generation/selection.py" in names
    assert not any("/migrations/" in name for name in names)


def test_no_source_file_is_longer_than_the_limit() -> None:
    offenders = []
    for path in _source_files():
        lines = path.read_text(encoding="utf-8", errors="replace").count("\n")
        if lines > LIMIT:
            offenders.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not offenders, f"split these by what they hold (limit {LIMIT} lines):\n" + "\n".join(
        sorted(offenders)
    )
