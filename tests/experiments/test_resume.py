"""A run killed with SIGKILL resumes from its last checkpoint on the same TensorBoard step axis."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = Path(__file__).resolve().parents[2]


def command(run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiments.train", "+experiment=smoke", f"run_dir={run_dir}",
            "total_steps=4096", "log.checkpoint_every=1", "eval.every=0", "log.images_every=0",
            "env.rows=3", "env.cols=3", "hydra.run.dir=" + str(run_dir / "hydra"), *extra]


def checkpoint_update(run_dir: Path) -> int:
    latest = run_dir / "checkpoints" / "latest"
    return int(latest.read_text().strip().split("_")[1]) if latest.exists() else 0


def test_sigkill_then_resume(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command(run_dir), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while checkpoint_update(run_dir) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = checkpoint_update(run_dir)
    assert 3 <= killed_at < 8, f"kill should land mid-run (checkpoint {killed_at}); {proc.stderr.read()[-2000:]}"
    assert not (run_dir / "results.json").exists()

    done = subprocess.run(command(run_dir, "resume=true"), cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    final = json.loads((run_dir / "results.json").read_text())
    assert final["global_step"] == 4096
    assert checkpoint_update(run_dir) == 8

    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("losses/policy_loss")]
    # One value per update across both processes, no duplicates left by the killed one.
    assert steps == sorted(set(steps)) and steps[-1] == 4096 and len(steps) == 8
