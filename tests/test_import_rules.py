"""The layout's rules, checked on the source: who may import whom, and no module imports in a circle.

Every import counts, including the ones inside functions: a lazy import still ties two modules
together, it only hides the circle from the interpreter. `if TYPE_CHECKING:` imports are skipped,
because they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "adapters", "web")
MAX_LINES = 420  # "about 400"; generated migrations are exempt


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    tree: ast.AST, module: str, is_package: bool, modules: set[str]
) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import. `from a import b` imports the module a.b when
    there is one, else the names of module a."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                drop = node.level - 1 if is_package else node.level
                anchor = anchor[: len(anchor) - drop] if drop else anchor
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield node.lineno, submodule if submodule in modules else base
        stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """module → {imported module of ours → first line}."""
    files = {
        module_name(path, root): path
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, dict[str, int]] = {}
    for module, path in files.items():
        edges: dict[str, int] = {}
        tree = ast.parse(path.read_text(), str(path))
        for line, name in _imports(tree, module, path.name == "__init__.py", set(files)):
            if name in files and name != module:
                edges[name] = min(edges.get(name, line), line)
        graph[module] = edges
    return graph


def rule_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    found = []
    for module, edges in graph.items():
        top = module.split(".")
        for target, line in edges.items():
            other = target.split(".")
            where = f"{module}:{line} imports {target}"
            if top[0] == "hub" and other[0] in ("adapters", "web"):
                found.append(f"{where}: hub/ is the core and imports neither adapters nor web")
            if top[0] == "adapters" and other[0] == "web":
                found.append(f"{where}: an adapter does not import web")
            if (
                top[0] == "adapters"
                and other[0] == "adapters"
                and len(top) > 1
                and len(other) > 1
                and top[1] != other[1]
            ):
                found.append(f"{where}: an adapter does not import another adapter")
    return found


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_layering_rules_hold() -> None:
    assert rule_violations(import_graph()) == []


def test_no_module_imports_in_a_circle() -> None:
    graph = import_graph()
    described = [
        " → ".join(f"{m} (imports {[t for t in graph[m] if t in c]})" for m in c)
        for c in cycles(graph)
    ]
    assert described == []


def test_modules_stay_small() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


# The checks themselves must be able to fail: a small tree that breaks every rule once.
@pytest.fixture
def broken_tree(tmp_path: Path) -> Path:
    files = {
        "hub/__init__.py": "",
        "hub/a.py": "from hub import b\n",
        "hub/b.py": "def f():\n    from hub.a import x\n",  # a lazy import still closes the circle
        "hub/c.py": "import web.app\n",
        "hub/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hub.c\n",
        "adapters/__init__.py": "",
        "adapters/one/__init__.py": "from adapters.two import thing\nfrom ..two import other\n",
        "adapters/two/__init__.py": "from web import app\n",
        "web/__init__.py": "",
        "web/app.py": "import hub.a\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checks_catch_a_broken_tree(broken_tree: Path) -> None:
    graph = import_graph(broken_tree)
    assert cycles(graph) == [["hub.a", "hub.b"]]
    assert "hub.c" not in graph["hub.d"]  # TYPE_CHECKING imports never run
    assert sorted(rule_violations(graph)) == sorted(
        [
            "hub.c:1 imports web.app: hub/ is the core and imports neither adapters nor web",
            "adapters.one:1 imports adapters.two: an adapter does not import another adapter",
            "adapters.two:1 imports web.app: an adapter does not import web",
        ]
    )
