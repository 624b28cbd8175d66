"""Resume continues the very run that was started, or fails before any work saying why.

A killed run resumes from its last checkpoint on the same TensorBoard step axis; a resume whose
config changes the experiment, or whose checkpoint is damaged, fails naming the key or path; a
finished run resumes to a no-op.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from experiments import checkpoint
from experiments.checkpoint import CheckpointError
from experiments.resume import RESUME_MAY_CHANGE, ResumeError
from experiments.train import train
from memory import MemoryBank
from tests.experiments.helpers import tiny_config

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
    deadline = time.time() + 600  # only a guard against a hung run; a loaded machine is slow
    while checkpoint_update(run_dir) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = checkpoint_update(run_dir)
    assert 3 <= killed_at < 8, f"kill should land mid-run (checkpoint {killed_at}); {proc.stderr.read()[-2000:]}"
    assert not (run_dir / "results.json").exists()

    # The smoke run keeps a shared bank; resuming it as solo would be another experiment.
    config_before = (run_dir / "config.yaml").read_bytes()
    refused = subprocess.run(command(run_dir, "resume=true", "memory=solo"), cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert refused.returncode != 0
    assert "memory.mode: checkpoint 'shared', now 'solo'" in refused.stderr, refused.stderr[-3000:]
    assert (run_dir / "config.yaml").read_bytes() == config_before

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


# In-process runs below: a feed-forward agent with a shared bank, 2 mazes x 4 agents x 8 steps
# per update, 3 updates, so each takes seconds.
UPDATES = 3


def small_config(run_dir, preset="shared", **overrides):
    base = dict(agent_preset="feedforward", n_mazes=2, algo=dict(num_steps=8), total_steps=UPDATES * 64,
                eval=dict(every=0, episodes=1, visits=1), log=dict(images_every=0), resume=True)
    return tiny_config(run_dir, memory_preset=preset, **{**base, **overrides})


class Stopped(Exception):
    """Stands in for a kill right after the first checkpoint was written."""


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A run stopped after update 1 of 3: a checkpoint, TensorBoard events, no results."""
    run_dir = tmp_path_factory.mktemp("stopped")
    (run_dir / ".hydra").mkdir()  # Hydra's own files are no previous run: resume=true starts fresh
    real_save = checkpoint.save

    def save_then_stop(*args, **kwargs):
        real_save(*args, **kwargs)
        raise Stopped

    checkpoint.save = save_then_stop
    try:
        with pytest.raises(Stopped):
            train(small_config(run_dir))
    finally:
        checkpoint.save = real_save
    assert checkpoint_update(run_dir) == 1 and not (run_dir / "results.json").exists()
    return run_dir


@pytest.fixture(scope="module")
def finished_run(stopped_run, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    shutil.copytree(stopped_run, run_dir)
    train(small_config(run_dir))
    return run_dir


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def files_of(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def final_state(run_dir: Path) -> dict:
    path = run_dir / "checkpoints" / (run_dir / "checkpoints" / "latest").read_text().strip()
    return torch.load(path / "state.pt", weights_only=True)


@pytest.mark.parametrize("preset, change", [
    ("solo", "memory.mode: checkpoint 'shared', now 'solo'"),
    ("none", "memory.mode: checkpoint 'shared', now 'none'"),
])
def test_other_memory_mode_fails_before_any_work(stopped_run, tmp_path, preset, change):
    run_dir = copy_run(stopped_run, tmp_path)
    before = files_of(run_dir)
    with pytest.raises(ResumeError) as err:
        train(small_config(run_dir, preset))
    assert change in str(err.value)
    assert files_of(run_dir) == before  # no config.yaml rewritten, no event file opened


@pytest.mark.parametrize("overrides, change", [
    (dict(memory=dict(bank=dict(scope="layout", capacity=64, index="flat"))),
     "memory.bank.capacity: checkpoint 512, now 64"),
    (dict(agent_preset="lstm"), "agent._target_: checkpoint 'agents.FeedForwardAgent', now 'agents.LSTMAgent'"),
    (dict(total_steps=UPDATES * 64 * 2), f"total_steps: checkpoint {UPDATES * 64}, now {UPDATES * 128}"),
    (dict(log=dict(images_every=0, episode_window=16)), "log.episode_window: checkpoint 256, now 16"),
])
def test_changed_experiment_fails_naming_the_key(stopped_run, tmp_path, overrides, change):
    run_dir = copy_run(stopped_run, tmp_path)
    with pytest.raises(ResumeError, match="keys that change the experiment") as err:
        train(small_config(run_dir, **overrides))
    assert change in str(err.value)


def test_changed_agent_size_names_the_config_key(stopped_run, tmp_path):
    run_dir = copy_run(stopped_run, tmp_path)
    cfg = small_config(run_dir)
    cfg.agent["d_model"] = 32
    with pytest.raises(ResumeError) as err:
        train(cfg)
    assert "agent.d_model: checkpoint 128, now 32" in str(err.value)


def test_allowed_changes_resume_to_the_same_run(stopped_run, finished_run, tmp_path):
    run_dir = copy_run(stopped_run, tmp_path)
    neutral = dict(eval=dict(every=1, episodes=1, visits=1),
                   log=dict(images_every=1, video_every=1, checkpoint_every=2, progress=True))
    train(small_config(run_dir, **neutral))
    assert (run_dir / "videos").exists()  # the changed keys took effect
    changed, plain = final_state(run_dir), final_state(finished_run)
    assert changed["global_step"] == plain["global_step"] == UPDATES * 64
    for name, weight in plain["agent"].items():
        assert torch.equal(changed["agent"][name], weight), name
    assert {"eval.every", "log.images_every", "log.checkpoint_every"} <= set(RESUME_MAY_CHANGE)


def test_resumed_run_records_the_machine_of_each_start(finished_run):
    starts = json.loads((finished_run / "machine.json").read_text())
    assert [s["start_update"] for s in starts] == [0, 1]


def test_resumed_run_writes_to_its_restored_bank(stopped_run, finished_run):
    # The collector's content once kept writing to the fresh bank the checkpoint replaced.
    first = MemoryBank.load(stopped_run / "checkpoints" / "update_000001" / "memory.bank")
    last = MemoryBank.load(finished_run / "checkpoints" / f"update_{UPDATES:06d}" / "memory.bank")
    assert last.clock > first.clock


def test_finished_run_resumes_to_a_no_op(finished_run, tmp_path):
    run_dir = copy_run(finished_run, tmp_path)
    before = files_of(run_dir)
    assert len(json.loads(before["results.json"])) > 10
    result = train(small_config(run_dir))
    assert files_of(run_dir) == before  # results.json byte for byte, no new event file
    assert result == json.loads(before["results.json"])


def edit_state(path: Path, **changes):
    state = torch.load(path, weights_only=True)
    state.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del state[key]
    torch.save(state, path)


def damage(run_dir: Path, how: str) -> str:
    """Damage the checkpoint of `run_dir`; returns the text the error must contain."""
    ckpt = run_dir / "checkpoints" / "update_000001"
    if how == "state.pt missing":
        (ckpt / "state.pt").unlink()
        return f"{ckpt / 'state.pt'} is missing"
    if how == "latest points nowhere":
        (run_dir / "checkpoints" / "latest").write_text("update_000009\n")
        return f"{run_dir / 'checkpoints' / 'update_000009'} does not exist"
    if how == "memory.bank missing":
        (ckpt / "memory.bank").unlink()
        return f"{ckpt / 'memory.bank'} is missing"
    if how == "garbage state.pt":
        (ckpt / "state.pt").write_bytes(b"not a checkpoint at all")
        return f"{ckpt / 'state.pt'} is damaged"
    if how == "garbage memory.bank":
        (ckpt / "memory.bank").write_bytes(b"not a bank")
        return f"{ckpt / 'memory.bank'} is damaged"
    if how == "state.pt without config":
        edit_state(ckpt / "state.pt", config=None)
        return "lacks ['config']"
    if how == "other device":
        edit_state(ckpt / "state.pt", device="cuda")
        return "device: checkpoint ran on 'cuda', now 'cpu'"
    if how == "events but no checkpoint":
        shutil.rmtree(run_dir / "checkpoints")
        return "holds a previous run (events.out.tfevents."
    raise ValueError(how)


@pytest.mark.parametrize("how", ["state.pt missing", "latest points nowhere", "memory.bank missing",
                                 "garbage state.pt", "garbage memory.bank", "state.pt without config",
                                 "other device", "events but no checkpoint"])
def test_damaged_checkpoint_fails_naming_what_is_wrong(stopped_run, tmp_path, how):
    run_dir = copy_run(stopped_run, tmp_path)
    expected = damage(run_dir, how)
    before = files_of(run_dir)
    with pytest.raises((CheckpointError, ResumeError)) as err:
        train(small_config(run_dir))
    message = str(err.value)
    assert expected in message
    assert "weights_only" not in message and err.value.__cause__ is None  # never advise unsafe loading
    assert files_of(run_dir) == before
