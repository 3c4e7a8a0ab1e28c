"""No import cycle in `qa/`: the import graph is computed from the source (ast), imports inside functions count."""

from __future__ import annotations

import ast
from pathlib import Path

import qa

PACKAGE = Path(qa.__file__).parent


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The `qa` modules `path` imports at run time, at module level or inside functions (`if TYPE_CHECKING:`
    blocks are skipped: they never run)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from .x import y
                base = ".".join(["qa", *([base] if base else [])])
            if base in modules:
                found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def import_graph() -> dict[str, set[str]]:
    files = {f"qa.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    modules = set(files) | {"qa"}
    return {name: imports_of(path, modules) - {name, "qa"} for name, path in sorted(files.items())}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each as one cycle through all of it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                groups.append(sorted([v, *group]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


KNOWN: list[list[str]] = []  # none: the text toolkit (qa/text.py) removed the last one (citations/duplicates/retrieval)


def test_the_import_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("from typing import TYPE_CHECKING\nimport qa.store\nif TYPE_CHECKING:\n    import qa.chain\n"
                 "def g():\n    from qa import config as c\n    from qa.types import Passage\n")
    assert imports_of(f, {"qa", "qa.store", "qa.chain", "qa.config", "qa.types"}) == {
        "qa", "qa.store", "qa.config", "qa.types"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_qa() -> None:
    graph = import_graph()
    assert len(graph) > 10 and graph["qa.cli"], "the graph was read from the package's source"
    found = [group for group in cycles(graph) if group not in KNOWN]
    shown = "; ".join(" <-> ".join(f"{m} (imports {', '.join(sorted(graph[m] & set(g)))})" for m in g)
                      for g in found)
    assert not found, f"import cycle in qa/: {shown}"
