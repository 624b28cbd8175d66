"""Checkpoints: written atomically, loaded without unpickling arbitrary objects.

Layout inside a run directory:

    checkpoints/update_000120/state.pt     model, optimiser, RNG states, counters, reward scaler
    checkpoints/update_000120/memory.*     the memory bank, in its own documented format
    checkpoints/latest                     text file naming the newest complete checkpoint

A checkpoint directory is filled under a temporary name and renamed when complete;
`latest` is replaced by rename too (fileio/atomic.py). A run killed at any moment leaves the
previous checkpoint intact and `latest` pointing at a complete one. So a `latest` that points
nowhere, or a checkpoint without its state.pt, is damage: reading it raises
`CheckpointError` naming the path, never a silent fresh start.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from fileio.atomic import atomic_write_text

KEEP = 2  # complete checkpoints kept on disk


class CheckpointError(RuntimeError):
    """A checkpoint is missing a part or cannot be read; the message names the path."""


def save(run_dir: str | Path, update: int, state: dict[str, Any], bank=None) -> Path:
    """Write checkpoint `update` (state: tensors, numbers, strings, nested dicts/lists)."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"update_{update:06d}"
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}."))
    try:
        torch.save(state, tmp / "state.pt")
        if bank is not None:
            bank.save(tmp / "memory.bank")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / "latest", final.name + "\n")
    complete = sorted(p for p in root.glob("update_*") if p.is_dir())
    for old in complete[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint, or None when no checkpoint was ever completed."""
    pointer = Path(run_dir) / "checkpoints" / "latest"
    if not pointer.exists():
        return None
    name = pointer.read_text().strip()
    path = pointer.parent / name
    if not name or not path.is_dir():
        raise CheckpointError(f"{pointer} names {name!r}, but {path} does not exist")
    if not (path / "state.pt").is_file():
        raise CheckpointError(f"{path / 'state.pt'} is missing: checkpoint {name} is incomplete")
    return path


def load_state(path: Path, device) -> dict[str, Any]:
    file = path / "state.pt"
    try:
        state = torch.load(file, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{file} is missing: checkpoint {path.name} is incomplete") from None
    except Exception as err:  # torch raises several types for a damaged file
        # `from None`: torch's own message would suggest unpickling the file unsafely.
        raise CheckpointError(
            f"{file} is damaged and cannot be read ({type(err).__name__}); the previous checkpoint, "
            f"if any, is still in {path.parent}: write its name into {path.parent / 'latest'} to "
            "resume from it") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{file} is damaged: it holds a {type(state).__name__}, not a dict")
    return state
