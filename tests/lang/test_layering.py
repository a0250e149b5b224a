"""The language package's structure: one import direction, no hidden imports, no environment.

Read from the source with :mod:`ast`, so a regression shows the module and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LANG = Path(__file__).resolve().parents[2] / "src" / "relight" / "lang"
MAX_LINES = 700


def _module(path: Path) -> str:
    parts = list(path.relative_to(LANG.parent.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(LANG.rglob("*.py"))}


def _target(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, list[str], bool]]:
    """(statement, imported names, at module level) for every import of a relight module."""
    out: list[tuple[ast.stmt, list[str], bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("relight"):
                out.append((child, [f"{child.module}.{a.name}" for a in child.names] + [child.module], not nested))
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names if a.name.startswith("relight")]
                if names:
                    out.append((child, names, not nested))
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.If)
            visit(child, inner)

    visit(tree, False)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for _stmt, names, top in _imports(ast.parse(path.read_text())):
            target = next((t for t in map(_target, names) if t), None)
            if top and target and target != mod:
                graph[mod].add(target)
    return graph


def test_no_import_cycles_in_lang() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(mod: str) -> None:
        state[mod] = 1
        path.append(mod)
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod)


def test_no_hidden_imports_in_lang() -> None:
    hidden = [
        f"{path.relative_to(LANG)}:{stmt.lineno}"
        for path in MODULES.values()
        for stmt, _names, top in _imports(ast.parse(path.read_text()))
        if not top
    ]
    assert not hidden, f"function-level or conditional imports of relight modules: {hidden}"


def test_lang_imports_nothing_above_it() -> None:
    allowed = ("relight.lang", "relight.diagnostics", "relight.errors", "relight.addrs", "relight.values", "relight")
    bad = [
        f"{path.relative_to(LANG)}:{stmt.lineno} imports {names[-1]}"
        for path in MODULES.values()
        for stmt, names, _top in _imports(ast.parse(path.read_text()))
        if not names[-1].startswith(allowed[:-1]) and names[-1] != "relight"
    ]
    assert not bad, bad


def test_lang_reads_no_environment() -> None:
    found = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            text = ast.unparse(node) if isinstance(node, ast.Attribute) else ""
            if text in ("os.environ", "os.getenv", "os.path.expanduser", "os.chdir", "os.putenv"):
                found.append(f"{path.relative_to(LANG)}:{node.lineno} {text}")
    assert not found, found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_readable_in_one_sitting(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"
