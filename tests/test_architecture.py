"""Imports go one way: experiments -> agents, memory, envs; agents -> memory.ReadAttention and
memory.outcome (the vocabulary of outcome-labelled entries) only."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "agents", "memory", "experiments")
ALLOWED = {
    "envs": set(),
    "memory": set(),
    "agents": {"memory", "memory.read_attention", "memory.outcome"},
    "experiments": {"envs", "agents", "memory"},
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
            if top == package:
                continue
            assert top in {a.split(".")[0] for a in ALLOWED[package]}, f"{path.relative_to(ROOT)} imports {name}"
            if package == "agents":
                assert name in ("memory", "memory.read_attention", "memory.ReadAttention", "memory.outcome"), \
                    f"{path.relative_to(ROOT)} imports {name}; agents may only use memory.ReadAttention and memory.outcome"
