"""Results in the docs are rendered from saved result files, never typed.

A code block in README.md or docs/*.md that starts with

    $ cd docs/results/SOME_RUNS
    $ python ../../../benchmarks/SCRIPT.py ARGS

shows what that command prints from the files kept there: its first lines, to the character
(a last line `...` marks where the block stops quoting). Markdown that shows a command's output
as a page element (a table) sits between

    <!-- rendered: cd docs/results/SOME_RUNS; python ARGS -->
    <!-- /rendered -->

and must be all of that output. Editing a number by hand, or changing how the script renders,
fails here until the block is rendered again.
"""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```[a-z]*\n\$ cd (docs/results/\S+)\n\$ python (\S+) ([^\n]*)\n(.*?)```", re.S)
MARKDOWN = re.compile(r"<!-- rendered: cd (docs/results/\S+); python (\S+) ([^\n]*?) -->\n(.*?)<!-- /rendered -->", re.S)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def rendered_blocks():
    for doc in PAGES:
        for match in BLOCK.finditer(doc.read_text()):
            yield pytest.param(*match.groups(), id=f"{doc.name}:{match.group(1)}")


def rendered_markdown():
    for doc in PAGES:
        for match in MARKDOWN.finditer(doc.read_text()):
            yield pytest.param(*match.groups(), id=f"{doc.name}:{match.group(1)}")


def render(folder: str, script: str, args: str) -> list[str]:
    out = subprocess.run([sys.executable, script, *shlex.split(args)], cwd=ROOT / folder, capture_output=True,
                         text=True, check=True).stdout
    return [line.rstrip() for line in out.strip("\n").splitlines()]


@pytest.mark.parametrize("folder,script,args,shown", list(rendered_blocks()))
def test_block_shows_what_the_script_renders(folder, script, args, shown):
    quoted = shown.rstrip("\n").splitlines()
    if quoted and quoted[-1] == "...":
        quoted = quoted[:-1]
    rendered = render(folder, script, args)
    assert [line.rstrip() for line in quoted] == rendered[:len(quoted)], (
        f"the block quoting `{script} {args}` in {folder} differs from what it renders now; "
        "paste the command's output again")


@pytest.mark.parametrize("folder,script,args,shown", list(rendered_markdown()))
def test_markdown_is_what_the_script_renders(folder, script, args, shown):
    assert [line.rstrip() for line in shown.strip("\n").splitlines()] == render(folder, script, args), (
        f"the markdown rendered by `{script} {args}` in {folder} differs from what it renders now; "
        "paste the command's output again")


def test_the_docs_have_rendered_blocks():
    assert list(rendered_blocks()), "no block quotes a script run on docs/results"
    assert any(p.id.startswith("README.md") for p in rendered_markdown()), "the README's table is not rendered"
