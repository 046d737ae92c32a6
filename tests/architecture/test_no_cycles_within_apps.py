"""No import cycle between the modules of one app, lazy imports (inside functions) included.

import-linter's layers see only the graph between apps, and grimp keeps a lazy import like any
other; a cycle through one (services -> tasks -> runner -> services) still ties the modules
together, so this test reads every `import` and `from ... import` statement in the AST, wherever it
stands, and looks for a cycle among the modules of each app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Every app but annotate and reports, which are being reorganised (issue 24: the analysis floor);
# reports has a cycle today (campaign_judge <-> campaign_records). Add them when that work lands.
APPS = ("config", "hub", "judging", "finetune", "generation", "eval_sets", "core")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(app: str) -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.relative_to(ROOT).parts
    }


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every name one import statement may load as a module (for `from x import y`: x and x.y)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    return [source, *(f"{source}.{alias.name}" for alias in node.names)]


def import_graph(app: str) -> dict[str, set[str]]:
    """Module -> the modules of the same app it imports, at the top level or inside a function.

    A package's `__init__` is an edge only where a statement names the package itself: a
    submodule that imports its sibling does not depend on the package that re-exports both.
    """
    modules = _modules(app)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            graph[name] |= {
                target
                for target in _imported(node, name, path.name == "__init__.py")
                if target in modules and target != name
            }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a closed path of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_lazy_imports_and_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    tree = ast.parse("def f():\n    from generation.tasks import t\n")
    assert _imported(tree.body[0].body[0], "generation.services", False) == [  # type: ignore[attr-defined]
        "generation.tasks",
        "generation.tasks.t",
    ]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # The walk reads the real apps: the runner imports models, so the graph is not empty.
    assert "generation.models" in import_graph("generation")["generation.runner"]


@pytest.mark.parametrize("app", APPS)
def test_no_import_cycle_between_the_modules_of_one_app(app: str) -> None:
    cycle = find_cycle(import_graph(app))
    assert cycle is None, f"{app}: the import cycle {' -> '.join(cycle)} (lazy imports count too)"
