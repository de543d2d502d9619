"""The shape of backend/: no import cycles, no oversized modules, no Flask below the web layer.

The modules are read with `ast`, never imported, so an import hidden inside a
function counts as much as one at the top of a file: both hold two modules
together. Only imports under `if TYPE_CHECKING:` are left out (they never run).
"""
from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"
MAX_LINES = 400
# Layers that must not know about the web framework.
FLASK_FREE = ("domain", "mail", "pipeline")


def _modules() -> dict[str, Path]:
    """backend.* module name -> file; a package is its __init__.py."""
    found: dict[str, Path] = {}
    for path in sorted(BACKEND.rglob("*.py")):
        rel = path.relative_to(BACKEND.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """Every import statement of a module, wherever it is, except under `if TYPE_CHECKING:`."""

    def __init__(self) -> None:
        self.nodes: list[ast.Import | ast.ImportFrom] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:  # the `else:` branch does run
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.nodes.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.nodes.append(node)


def _import_nodes(source: str, filename: str = "<module>") -> list[ast.Import | ast.ImportFrom]:
    visitor = _Imports()
    visitor.visit(ast.parse(source, filename=filename))
    return visitor.nodes


def _imported_names(module: str, modules: dict[str, Path] = MODULES, source: str | None = None) -> set[str]:
    """Absolute names of everything `module` imports (modules, or packages' __init__)."""
    path = modules[module]
    if source is None:
        source = path.read_text(encoding="utf-8")
    # The package a module's relative imports start from.
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _import_nodes(source, str(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = package.split(".")
            base = base[:len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        for alias in node.names:
            # `from pkg import sub` imports the submodule; `from mod import name` imports mod.
            sub = f"{origin}.{alias.name}"
            names.add(sub if sub in modules else origin)
    return names


def _graph() -> dict[str, set[str]]:
    return {m: {n for n in _imported_names(m) if n in MODULES} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    for root in sorted(graph):
        if root in index:
            continue
        # Iterative Tarjan: (node, iterator over its successors).
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [f"    {a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "  " + ", ".join(component) + "\n" + "\n".join(edges)


def test_imports_are_resolved_as_python_resolves_them():
    # Guards the walker itself, on a made-up package.
    modules = {name: Path(f"/x/{name.replace('.', '/')}{suffix}") for name, suffix in [
        ("backend", "/__init__.py"), ("backend.web", "/__init__.py"), ("backend.web.auth", ".py"),
        ("backend.web.inbox", ".py"), ("backend.jobs", ".py"), ("backend.pipeline", "/__init__.py"),
        ("backend.pipeline.runner", ".py"), ("backend.services", ".py")]}
    source = """
from __future__ import annotations
from typing import TYPE_CHECKING
import json
from flask import g
from . import bp
from .inbox import thread_rows
from .. import jobs
from ..pipeline import runner
if TYPE_CHECKING:
    from ..services import Services
def view():
    import backend.pipeline
"""
    assert _imported_names("backend.web.auth", modules, source) == {
        "__future__", "typing", "json", "flask",
        "backend.web",  # `from . import bp`: bp is a name of the package's __init__
        "backend.web.inbox", "backend.jobs", "backend.pipeline.runner",
        "backend.pipeline",  # inside a function: it counts
    }  # and not backend.services: only under TYPE_CHECKING
    # In a package's __init__, `.` is the package itself.
    assert _imported_names("backend.web", modules, "from . import auth\nfrom .. import jobs") == {
        "backend.web.auth", "backend.jobs"}


def test_the_real_import_graph_is_read():
    graph = _graph()
    assert "backend.config" in graph["backend.app"]  # from .config import ...
    assert "backend.providers" in graph["backend.app"]  # from . import providers (a package)
    assert "backend.tasks" in graph["backend.pipeline.runner"]


def test_cycle_finder_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"], ["d"]]


def test_no_import_cycles_in_backend():
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import cycles in backend/ (imports inside functions count too):\n" + "\n".join(
        _describe(c, graph) for c in cycles)


def test_no_module_is_over_400_lines():
    offenders = []
    for path in MODULES.values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            offenders.append(f"  {path.relative_to(BACKEND.parent)}: {lines} lines")
    assert not offenders, f"modules over {MAX_LINES} lines:\n" + "\n".join(sorted(offenders))


def _imports_flask(module: str) -> bool:
    return any(n == "flask" or n.startswith("flask.") for n in _imported_names(module))


def test_domain_mail_and_pipeline_do_not_import_flask():
    """Not directly, and not through another backend module (the chain is shown)."""
    graph = _graph()
    uses_flask = {m for m in MODULES if _imports_flask(m)}
    layers = [d for d in FLASK_FREE if (BACKEND / d).is_dir()]
    assert "pipeline" in layers
    offenders = []
    for name in sorted(MODULES):
        if name.split(".")[1:2] and name.split(".")[1] in layers:
            # Breadth first, so the chain shown is a shortest one.
            came_from: dict[str, str | None] = {name: None}
            queue = [name]
            while queue:
                current = queue.pop(0)
                if current in uses_flask:
                    chain = [current]
                    while came_from[chain[-1]] is not None:
                        chain.append(came_from[chain[-1]])
                    offenders.append("  " + " -> ".join(reversed(chain)) + " -> flask")
                    break
                for nxt in sorted(graph[current]):
                    if nxt not in came_from:
                        came_from[nxt] = current
                        queue.append(nxt)
    assert not offenders, "Flask below the web layer (backend/" + ", backend/".join(layers) + "):\n" + \
        "\n".join(offenders)
