"""The Python examples of the README and of the guides in docs/ run as written (docs/agents.md's
example agent has its own test, tests/agents/test_doc_example.py)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *(ROOT / "docs" / name for name in ("envs.md", "memory.md", "experiments.md"))]
BLOCKS = [(page.name, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))]


def test_readme_has_examples():
    assert sum(name == "README.md" for name, _, _ in BLOCKS) >= 2


@pytest.mark.parametrize("name,index,block", BLOCKS, ids=[f"{name}:{i}" for name, i, _ in BLOCKS])
def test_example_runs(name, index, block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3"))   # else SB3 leaves a folder in the system's temp
    exec(compile(block, f"{name} example {index}", "exec"), {})
