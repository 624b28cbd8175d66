"""Finding finished runs on disk and reading what they logged.

A run directory holds `config.yaml` (the resolved config that ran) and the TensorBoard event
files (`events.out.tfevents.*`) that `experiments.train` writes into it. Scalars are read with
TensorBoard's own event reader, which also honours the purge a resumed run asks for, so a
resumed run reads as one clean curve.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

CONFIG_NAME = "config.yaml"
EVENTS_MARK = "tfevents"


class RunsError(ValueError):
    """Runs are missing or do not hold what was asked for; the message says which and why."""


@dataclass(frozen=True)
class Series:
    """One scalar tag of one run: `steps (P,)` ascending and unique, `values (P,)`."""

    steps: np.ndarray
    values: np.ndarray


@dataclass
class Run:
    """A run directory, its resolved config and its scalars by tag."""

    path: Path
    config: dict[str, Any]
    scalars: dict[str, Series] = field(default_factory=dict)


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file() and any(EVENTS_MARK in p.name for p in path.iterdir() if p.is_file())


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run directories given directly or found anywhere below the given paths (e.g. a Hydra
    multirun folder), sorted, without duplicates. Below a run directory nothing more is
    searched: its subfolders (checkpoints, images) are part of it."""
    found: dict[Path, None] = {}
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise RunsError(f"no such path: {str(root)!r}")
        if not root.is_dir():
            raise RunsError(f"not a directory: {str(root)!r}; give run directories or folders that contain them")
        under = 0
        near_misses: list[str] = []
        for dirpath, dirnames, _ in os.walk(root):
            here = Path(dirpath)
            dirnames.sort()
            if is_run_dir(here):
                found.setdefault(here.resolve(), None)
                under += 1
                dirnames[:] = []
            elif (here / CONFIG_NAME).is_file() and here.name != ".hydra":
                near_misses.append(str(here))
        if not under:
            hint = (f"; these have {CONFIG_NAME} but no event files (did the run start?): "
                    f"{', '.join(near_misses[:5])}" if near_misses else "")
            raise RunsError(f"no runs under {str(root)!r}: a run directory holds {CONFIG_NAME} and TensorBoard "
                            f"event files (events.out.tfevents.*){hint}")
    return sorted(found)


def load_config(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG_NAME
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RunsError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(config, dict):
        raise RunsError(f"{path} must hold a mapping of config keys, got {type(config).__name__}")
    return config


def config_value(config: dict[str, Any], key: str, run_dir: Path | None = None) -> Any:
    """The value at a dotted key such as `memory.mode` or `agent._target_`."""
    node: Any = config
    walked: list[str] = []
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(walked) or "the top level"
            options = sorted(map(str, node)) if isinstance(node, dict) else []
            run = f" of run {run_dir}" if run_dir is not None else ""
            raise RunsError(f"config key {key!r} is missing from {CONFIG_NAME}{run}: no {part!r} at {where}; "
                            f"keys there: {', '.join(options) or '(none: not a mapping)'}")
        node = node[part]
        walked.append(part)
    return node


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"memory": {"mode": "solo"}}` -> `{"memory.mode": "solo"}`; lists stay as values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_config(value, name + "."))
        else:
            flat[name] = value
    return flat


def load_scalars(run_dir: Path) -> dict[str, Series]:
    """Every scalar tag of a run, read from all event files in the directory (not below it)."""
    # Imported here: TensorBoard's import is slow and only this function needs it.
    from tensorboard.backend.event_processing import event_accumulator as ea

    # 0 keeps every point; the default would subsample long runs at random.
    guidance = {ea.SCALARS: 0, ea.IMAGES: 1, ea.AUDIO: 1, ea.HISTOGRAMS: 1,
                ea.COMPRESSED_HISTOGRAMS: 1, ea.TENSORS: 1}
    acc = ea.EventAccumulator(str(run_dir), size_guidance=guidance)
    acc.Reload()
    scalars: dict[str, Series] = {}
    for tag in acc.Tags()[ea.SCALARS]:
        events = acc.Scalars(tag)
        steps = np.array([e.step for e in events], dtype=np.int64)
        values = np.array([e.value for e in events], dtype=np.float64)
        wall = np.array([e.wall_time for e in events], dtype=np.float64)
        # A step logged twice (a restart without purge) keeps its latest value.
        order = np.lexsort((wall, steps))
        steps, values = steps[order], values[order]
        last = np.append(steps[1:] != steps[:-1], True)
        keep = last & np.isfinite(values)
        if keep.any():
            scalars[tag] = Series(steps[keep], values[keep])
    return scalars


def load_run(run_dir: Path) -> Run:
    return Run(Path(run_dir), load_config(run_dir), load_scalars(run_dir))
