"""Resuming a run: find its checkpoint and refuse anything that would make it another run.

Every checkpoint stores the resolved config it was written under. `resume=true` compares that
copy, key by key, with the config given now, before anything is built, and fails naming each
key that differs and both values. Only the keys in `RESUME_MAY_CHANGE` may differ: they change
where a run lives, how fast it goes or how often it reports, never the experiment (thread
counts can change float rounding, as on another machine).

What resume does with a run directory:
- no checkpoint and no trace of a previous run (results, TensorBoard events): start fresh;
- traces of a previous run but no checkpoint: fail (starting over would mix two runs' events);
- a checkpoint: check it (state.pt readable, memory.bank present when the run has a bank,
  same config), then continue from it;
- a checkpoint of the last update and a results.json: the run is finished, nothing is done
  and results.json is kept as it is.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from experiments import checkpoint
from experiments.checkpoint import CheckpointError
from experiments.config import ConfigError

# Keys that may differ between a run and its resume, and why each cannot change the results.
RESUME_MAY_CHANGE = {
    "resume": "asks for this very check",
    "run_dir": "where the run lives; a run directory may be moved",
    "device": "placement only; its kind (cpu or cuda) must match, the sampler's state is per kind",
    "torch_threads": "speed, and the order of float reductions (bitwise, not the experiment)",
    "compile": "speed, and the rounding of float operations (as torch_threads)",
    "log.progress": "console output only",
    "log.checkpoint_every": "how often state is saved; saving reads the run and changes nothing",
    "log.images_every": "pictures of maze 0 are drawn from what was logged, with no random draws",
    "log.video_every": "as log.images_every",
    "eval.every": "evaluation has its own env, bank and generator and leaves the training state "
                  "alone; the last update is always evaluated, so results.json is the same",
}

STATE_KEYS = ("agent", "optimizer", "sampler", "shuffler", "reward_scale", "update", "global_step",
              "config", "device")

ABSENT = "<absent>"


class ResumeError(ConfigError):
    """resume=true with a config that would make the resumed run a different experiment."""


@dataclass
class Checkpoint:
    path: Path
    state: dict[str, Any]


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; an empty mapping has no keys, so {} equals absent."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, saved value, current value) for every key outside RESUME_MAY_CHANGE that differs."""
    old, new = flatten(saved), flatten(current)
    return [(key, old.get(key, ABSENT), new.get(key, ABSENT)) for key in sorted(set(old) | set(new))
            if key not in RESUME_MAY_CHANGE and old.get(key, ABSENT) != new.get(key, ABSENT)]


def check_same_run(found: Checkpoint, cfg, device: torch.device) -> None:
    changed = differences(found.state["config"], cfg.to_dict())
    lines = [f"  {key}: checkpoint {old!r}, now {new!r}" for key, old, new in changed]
    if found.state["device"] != device.type:
        lines.append(f"  device: checkpoint ran on {found.state['device']!r}, now {device.type!r}")
    if lines:
        raise ResumeError(
            f"resume=true: the config differs from checkpoint {found.path} in keys that change the "
            "experiment:\n" + "\n".join(lines) + "\nResume with the run's own config (its "
            "config.yaml), or start a new run in another run_dir. Keys that may change on resume: "
            f"{sorted(RESUME_MAY_CHANGE)}")


def previous_run_traces(run_dir: Path) -> list[str]:
    """What a run leaves once it has logged anything (Hydra's own files do not count)."""
    found = [p for p in [run_dir / "results.json"] if p.exists()]
    found += sorted(run_dir.glob("events.out.tfevents.*"))
    found += sorted((run_dir / "checkpoints").glob("update_*"))
    return [str(p.relative_to(run_dir)) for p in found]


def find(run_dir: Path, cfg, device: torch.device) -> Checkpoint | None:
    """The checked checkpoint to resume from, or None to start fresh; fails on anything else."""
    path = checkpoint.latest(run_dir)
    if path is None:
        traces = previous_run_traces(run_dir)
        if traces:
            raise CheckpointError(
                f"resume=true: {run_dir} holds a previous run ({', '.join(traces[:3])}) but no "
                f"checkpoint ({run_dir / 'checkpoints' / 'latest'} is missing), so it cannot be "
                "continued; start it again in another run_dir")
        return None
    state = checkpoint.load_state(path, device)
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path / 'state.pt'} lacks {missing}: it is damaged or was written "
                              "before checkpoints stored their config, so resuming it cannot be checked")
    found = Checkpoint(path, state)
    check_same_run(found, cfg, device)
    return found


def finished_results(run_dir: Path, found: Checkpoint, num_updates: int) -> dict[str, float] | None:
    """The results of a run whose last update is checkpointed, or None when updates remain."""
    if int(found.state["update"]) < num_updates:
        return None
    results = run_dir / "results.json"
    if not results.is_file():
        raise CheckpointError(
            f"{found.path} is the run's last update but {results} is missing: the run stopped "
            "while finishing and its final metrics cannot be rebuilt; start it again in another run_dir")
    try:
        return json.loads(results.read_text())
    except ValueError:
        raise CheckpointError(f"{results} is damaged: it is not JSON") from None


def restore(found: Checkpoint, agent, optimizer, sampler, shuffler, scale) -> tuple[int, int]:
    """Load the training state into freshly built objects; returns (update, global_step)."""
    state = found.state
    try:
        agent.load_state_dict(state["agent"])
    except RuntimeError as err:
        # The config matched, so the agent's code changed since the checkpoint was written.
        raise CheckpointError(f"{found.path / 'state.pt'}: its weights do not fit the "
                              f"{type(agent).__name__} the same config builds today: {err}") from None
    optimizer.load_state_dict(state["optimizer"])
    sampler.set_state(state["sampler"].cpu())
    shuffler.set_state(state["shuffler"])
    if scale is not None:
        scale.load_state_dict(state["reward_scale"])
    return int(state["update"]), int(state["global_step"])


def load_bank(found: Checkpoint, device: torch.device):
    """The checkpoint's memory bank; a run with a bank always saves one."""
    from memory import MemoryBank
    from memory.persist import MemoryFileError

    path = found.path / "memory.bank"
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: the config builds a memory bank but checkpoint "
                              f"{found.path.name} holds none")
    try:
        return MemoryBank.load(path, device=device)
    except MemoryFileError as err:
        raise CheckpointError(f"{path} is damaged: {err}") from None
