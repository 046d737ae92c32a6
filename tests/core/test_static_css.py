"""Our stylesheets parse: a stray or missing brace silently drops every rule after it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static"
SHEETS = sorted(STATIC.rglob("*.css"))


def _depths(text: str) -> list[int]:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments may hold braces
    depth, seen = 0, []
    for char in text:
        if char in "{}":
            depth += 1 if char == "{" else -1
            seen.append(depth)
    return seen


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: str(p.relative_to(STATIC)))
def test_every_brace_of_the_stylesheet_is_matched(sheet: Path) -> None:
    depths = _depths(sheet.read_text(encoding="utf-8"))
    assert min(depths, default=0) >= 0, "a '}' closes nothing"
    assert not depths or depths[-1] == 0, "a '{' is never closed"


def test_the_check_sees_a_stray_brace() -> None:
    assert min(_depths(".a { b: c; }\n}\n.d { e: f; }")) < 0
    assert _depths("@media (x) { .a { b: c; }")[-1] == 1
