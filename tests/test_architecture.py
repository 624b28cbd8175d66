"""Imports go one way: experiments -> agents, memory, envs; agents -> memory.ReadAttention and
memory.outcome (the vocabulary of outcome-labelled entries) only. Every package may import
fileio (atomic file writes), which imports nothing of the project. analysis reads runs from
disk: it may use memory.mapping (the order of memory modes) only, and nothing imports it.
Between modules there is no import cycle, imports inside functions included."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "agents", "memory", "experiments", "analysis", "fileio")
SHARED = {"fileio"}  # any package may import these
ALLOWED = {
    "fileio": set(),
    "envs": set(),
    "memory": set(),
    "agents": {"memory", "memory.read_attention", "memory.outcome"},
    "experiments": {"envs", "agents", "memory"},
    "analysis": {"memory.mapping"},
}


def project_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "memory":
                names.update(f"memory.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


@pytest.mark.parametrize("package", PACKAGES)
def test_dependency_direction(package):
    for path in (ROOT / package).rglob("*.py"):
        for name in project_imports(path):
            top = name.split(".")[0]
            if top == package or top in SHARED:
                continue
            assert top in {a.split(".")[0] for a in ALLOWED[package]}, f"{path.relative_to(ROOT)} imports {name}"
            if package == "agents":
                assert name in ("memory", "memory.read_attention", "memory.ReadAttention", "memory.outcome"), \
                    f"{path.relative_to(ROOT)} imports {name}; agents may only use memory.ReadAttention and memory.outcome"
            if package == "analysis":
                assert name == "memory.mapping", \
                    f"{path.relative_to(ROOT)} imports {name}; analysis may only use memory.mapping"


def module_name(path: Path) -> str:
    """`experiments/train.py` -> `experiments.train`; a package's `__init__.py` -> the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, folder: str, modules: set[str]) -> set[str]:
    """The modules of `modules` that a parsed file imports anywhere, inside functions too (such an
    import only delays the need for the other module). `folder` is the file's package, dotted."""
    def nearest(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(nearest(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = folder.split(".")[:len(folder.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            # `from pkg import mod` needs the module; `from pkg import name` the package.
            found.update(nearest(f"{base}.{alias.name}") for alias in node.names)
    return found - {None}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        folder = module_name(path.parent / "__init__.py")
        graph[name] = imported_modules(ast.parse(path.read_text()), folder, set(files)) - {name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per back edge of a depth-first search, so the list is empty exactly when the
    graph has no cycle; each cycle starts and ends with the same module."""
    cycles, done, path = [], set(), []

    def visit(node):
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node)
    return cycles


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles (imports inside functions count): " + "; ".join(
        " -> ".join(c) for c in cycles)


def test_cycle_check_sees_imports_inside_functions():
    modules = {"pkg", "pkg.a", "pkg.b"}
    a = imported_modules(ast.parse("from pkg import b\n"), "pkg", modules)
    b = imported_modules(ast.parse("def f():\n    from .a import thing\n"), "pkg", modules)
    assert (a, b) == ({"pkg.b"}, {"pkg.a"})
    assert find_cycles({"pkg.a": a, "pkg.b": b}) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert find_cycles({"pkg.a": a, "pkg.b": set()}) == []
