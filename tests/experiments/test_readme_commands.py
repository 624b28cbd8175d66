"""The README's commands for questioning a finished run run as written, on a tiny finished run
standing in for the main job's sweep folder."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def readme_block(marker: str) -> list[str]:
    """The lines of the README's bash block that contains `marker`."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return block.strip().splitlines()


def test_the_readme_questions_a_finished_run_as_written(finished_run, tmp_path):
    lines = readme_block("maze-eval $RUN")
    assert lines[0].startswith("RUNS=multirun/culture_<date>; RUN=$RUNS/memory=shared,seed=0")
    runs = tmp_path / "multirun" / "culture"
    for name in ("memory=shared,seed=0", "memory=shared,seed=1"):
        shutil.copytree(finished_run[0], runs / name)
    env = {**os.environ, "RUNS": str(runs), "RUN": str(runs / "memory=shared,seed=0")}
    for line in lines[1:]:
        command = line.split("  #")[0].replace(".venv/bin/", f"{BIN}/")
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        if "memory.summary" in command:
            assert "store" in done.stdout and "reached the goal" in done.stdout
        else:
            assert "steps / shortest path: IQM over runs" in done.stdout     # the culture table
    assert len(list((tmp_path / "evaluations").iterdir())) == 3
    assert (tmp_path / "watched" / "00_memory=shared,seed=0" / "watch" / "maze_00.gif").is_file()
