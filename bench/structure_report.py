"""Print figures about the code's structure: what a newcomer meets when reading src/relight.

    python bench/structure_report.py [--top N] [SRC]

Figures: the largest modules (lines) and functions (lines); `Any` in annotations of the
shells (cli/, heal/, server/, images/) where they meet the run layer; function-level imports of
relight modules (imports inside a def); import cycles between relight modules (module-level
imports only, then with function-level ones). Reads the code with `ast`; runs nothing of it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SHELLS = ("relight.cli", "relight.heal", "relight.server", "relight.images")


def modules(src: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, level: int, module: str, is_pkg: bool) -> str:
    if level == 0:
        return name
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports(tree: ast.Module, module: str, is_pkg: bool, known: set[str]) -> Iterator[tuple[str, bool]]:
    """(imported relight module, inside a function?) for every import in the module."""

    def visit(node: ast.AST, in_func: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = in_func or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # typing-only imports are not runtime edges
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("relight"):
                        yield _known(alias.name, known), in_func
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(child.module or "", child.level, module, is_pkg)
                if target.startswith("relight"):
                    for alias in child.names:
                        full = f"{target}.{alias.name}"
                        yield (full if full in known else _known(target, known)), in_func
            yield from visit(child, inner)

    yield from visit(tree, False)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _known(name: str, known: set[str]) -> str:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def functions(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            yield node.name, end - node.lineno + 1


def any_annotations(tree: ast.Module) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            anns = [node.returns] + [a.annotation for a in (*node.args.args, *node.args.kwonlyargs)]
            count += sum(1 for a in anns if a is not None and "Any" in ast.unparse(a))
    return count


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", default="src/relight")
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()
    src = Path(args.src)
    mods = modules(src)
    known = set(mods)
    sizes, funcs, local_imports, shell_any = [], [], [], 0
    static: dict[str, set[str]] = {m: set() for m in mods}
    full: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        text = path.read_text()
        tree = ast.parse(text)
        sizes.append((len(text.splitlines()), name))
        funcs.extend((n, f"{name}.{f}") for f, n in functions(tree))
        if name.startswith(SHELLS):
            shell_any += any_annotations(tree)
        for target, in_func in imports(tree, name, path.name == "__init__.py", known):
            if not target or target == name:
                continue
            full[name].add(target)
            if in_func:
                local_imports.append((name, target))
            else:
                static[name].add(target)
    sizes.sort(reverse=True)
    funcs.sort(reverse=True)
    print(f"modules: {len(mods)}, lines: {sum(s for s, _ in sizes)}")
    print(f"modules over 700 lines: {sum(1 for s, _ in sizes if s > 700)}")
    print("largest modules:")
    for lines, name in sizes[: args.top]:
        print(f"  {lines:>6}  {name}")
    print("largest functions:")
    for lines, name in funcs[: args.top]:
        print(f"  {lines:>6}  {name}")
    print(f"functions over 60 lines: {sum(1 for n, _ in funcs if n > 60)}")
    print(f"'Any' in function annotations of the shells ({', '.join(SHELLS)}): {shell_any}")
    print(f"function-level imports of relight modules: {len(local_imports)}")
    for kind, graph in (("module-level", static), ("with function-level imports", full)):
        found = cycles(graph)
        print(f"import cycles ({kind}): {len(found)}")
        for comp in found:
            print("  " + " <-> ".join(comp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
