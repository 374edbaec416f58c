"""Layers point one way: no import cycle between the packages of ``flow``.

The graph is built from the source with :func:`flow.sources.direct_imports` (top-level and
function-level imports, relative imports, modules named by strings) and grouped by package:
``flow.rtl.generate`` and ``flow.rtl.lint`` are node ``flow.rtl``; a top-level module ``flow/x.py`` is
its own node ``flow.x``. ``flow.cli`` (the command line) may import anything; only ``flow.__main__``
imports it.
"""

from __future__ import annotations

import pytest

from flow.sources import PACKAGE_ROOT, direct_imports, module_name

CLI = "flow.cli"
ENTRY = "flow.__main__"


def _modules() -> list[str]:
    return sorted(module_name(p) for p in PACKAGE_ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def node(module: str) -> str:
    return ".".join(module.split(".")[:2])


def package_graph() -> dict[str, dict[str, list[str]]]:
    """``{node: {imported node: ["module -> module", ...]}}`` without self-edges and without flow.cli."""
    graph: dict[str, dict[str, list[str]]] = {}
    for mod in _modules():
        a = node(mod)
        if a in (CLI, ENTRY):
            continue
        graph.setdefault(a, {})
        for target in sorted(direct_imports(mod)):
            b = node(target)
            if b != a:
                graph[a].setdefault(b, []).append(f"{mod} -> {target}")
    return graph


def _components(graph: dict[str, dict]) -> list[list[str]]:
    """Strongly connected components (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def find_cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one node: ``[a, b, ..., a]``."""
    cycles = []
    for comp in _components(graph):
        if len(comp) < 2:
            continue
        members = set(comp)
        # shortest path from comp[0] back to itself inside the component (breadth first)
        start = comp[0]
        paths = {w: [start, w] for w in graph[start] if w in members}
        todo = list(paths)
        while start not in paths:
            v = todo.pop(0)
            for w in graph[v]:
                if w in members and w not in paths:
                    paths[w] = [*paths[v], w]
                    todo.append(w)
        cycles.append(paths[start])
    return cycles


def describe(cycle: list[str], graph: dict[str, dict[str, list[str]]]) -> str:
    steps = [f"  {a} -> {b}: {graph[a][b][0]}" for a, b in zip(cycle, cycle[1:], strict=False)]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_no_cycle_between_packages():
    graph = package_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles between packages:\n" + "\n".join(describe(c, graph) for c in cycles)


def test_only_the_entry_point_imports_the_cli():
    importers = sorted(
        f"{mod} -> {t}"
        for mod in _modules()
        if node(mod) not in (CLI, ENTRY)
        for t in direct_imports(mod)
        if node(t) == CLI
    )
    assert not importers, "flow.cli is imported by: " + ", ".join(importers)


def test_the_graph_sees_real_edges():
    graph = package_graph()
    assert "flow.rtl" in graph["flow.synth"]  # synthesis reads the RTL design
    assert "flow.stages" in graph["flow.pipeline"]  # the stages are imported by name
    assert "flow.check" in graph["flow.stages"]  # flow.stages.sim -> flow.check.rtl
    assert "flow.sim" in graph["flow.check"]  # flow.check.rtl -> flow.sim.simulate (function-level)


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b": ["a.x -> b.y"]}, "b": {"a": ["b.y -> a.z"]}}, ["a", "b", "a"]),
        ({"a": {"b": ["1"]}, "b": {"c": ["2"]}, "c": {"a": ["3"]}, "d": {"a": ["4"]}}, ["a", "b", "c", "a"]),
        ({"a": {"b": ["1"]}, "b": {}}, None),
    ],
)
def test_cycle_finder(graph, cycle):
    found = find_cycles(graph)
    assert found == ([cycle] if cycle else [])
    if cycle:
        assert describe(cycle, graph).startswith(" -> ".join(cycle))
