"""The import graph of the first-party packages, read from the source: no cycle, and the direction
of dependencies that DESIGN.md sets out.

Every import counts, wherever it is written (module level, inside a function, under
TYPE_CHECKING): an import moved into a function to dodge a cycle still ties the two modules
together, and only works thanks to the order in which things happen to be imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "bench", "flows", "routing", "storage", "plainyaml")
PLATFORM_SDKS = frozenset({"aiohttp", "linebot", "slack_bolt", "slack_sdk"})


@dataclass
class Graph:
    """Modules by dotted name, the first-party modules each imports, and the outside packages."""

    edges: dict[str, set[str]] = field(default_factory=dict)
    external: dict[str, set[str]] = field(default_factory=dict)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build_graph(root: Path, packages: Iterable[str]) -> Graph:
    files = {module_name(p, root): p for package in packages for p in sorted((root / package).rglob("*.py"))}
    graph = Graph({name: set() for name in files}, {name: set() for name in files})
    first_party = {name.split(".")[0] for name in files}

    def known(dotted: str) -> str | None:
        """The longest prefix of `dotted` that is one of our modules."""
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in files:
                return ".".join(parts[:end])
        return None

    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    base = ".".join(here[: len(here) - (node.level - 1)] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # `from package import name` imports the submodule `name` when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                top = target.split(".")[0]
                if top not in first_party:
                    graph.external[name].add(top)
                elif (module := known(target)) is not None and module != name:
                    graph.edges[name].add(module)
    return graph


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph(ROOT, PACKAGES)


# -- the tools themselves ------------------------------------------------------------------------

def test_the_graph_sees_relative_absolute_and_function_level_imports(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("from .a import thing\n")
    (tmp_path / "pkg" / "a.py").write_text("import json\nthing = 1\ndef later():\n    from pkg.sub import b\n")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "b.py").write_text(
        "import aiohttp.web\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n"
    )
    g = build_graph(tmp_path, ["pkg"])
    assert g.edges == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub.b"}, "pkg.sub": set(), "pkg.sub.b": {"pkg.a"}}
    assert g.external["pkg.a"] == {"json"} and g.external["pkg.sub.b"] == {"aiohttp", "typing"}
    assert cycles(g.edges) == [["pkg.a", "pkg.sub.b"]]


def test_cycles_finds_every_loop_and_nothing_else() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(cycles(edges)) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_real_graph_has_the_edges_we_know(graph: Graph) -> None:
    assert "flows.checks" in graph.edges["flows.loader"]  # from . import checks
    assert "flows.engine" in graph.edges["bot.work.turn"]  # from flows import engine
    assert "flows.session" in graph.edges["flows.engine"]  # from .session import ...
    assert "aiohttp" in graph.external["bot.app"]


# -- no cycle --------------------------------------------------------------------------------

@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(graph: Graph, package: str) -> None:
    touching = [c for c in cycles(graph.edges) if any(in_package(m, package) for m in c)]
    assert touching == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in touching)


# -- the direction of dependencies ---------------------------------------------------------------

def _imports_outside(graph: Graph, package: str) -> dict[str, set[str]]:
    return {
        module: {t for t in targets if not in_package(t, package)}
        for module, targets in graph.edges.items()
        if in_package(module, package) and any(not in_package(t, package) for t in targets)
    }


@pytest.mark.parametrize("package", ["flows", "routing"])
def test_the_core_imports_no_other_first_party_package(graph: Graph, package: str) -> None:
    """flows and routing are pure: neither imports the other, bot, storage or bench (only the small
    pure plainyaml, which imports no first-party package at all)."""
    outside = {m: {t for t in ts if not in_package(t, "plainyaml")} for m, ts in _imports_outside(graph, package).items()}
    assert {m: ts for m, ts in outside.items() if ts} == {}
    assert _imports_outside(graph, "plainyaml") == {}


def test_storage_imports_only_the_model_types_of_flows_and_routing(graph: Graph) -> None:
    allowed = {"flows.model", "flows.messages", "routing.model"}
    outside = _imports_outside(graph, "storage")
    assert {m: t - allowed for m, t in outside.items() if t - allowed} == {}


# bench is left out on purpose: it builds the reference servers the service is measured against
# (a bare aiohttp handler, line-bot-sdk's own echo example) and drives the service over HTTP as a
# client, as the tests do, so it uses the SDKs directly. It is tooling, not part of the service.
@pytest.mark.parametrize("package", ["flows", "routing", "storage"])
def test_only_bot_imports_the_platform_sdks(graph: Graph, package: str) -> None:
    found = {
        module: sdks
        for module, names in graph.external.items()
        if in_package(module, package) and (sdks := names & PLATFORM_SDKS)
    }
    assert found == {}
