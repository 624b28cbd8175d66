"""Checkpoints: written atomically, loaded without unpickling arbitrary objects.

Layout inside a run directory:

    checkpoints/update_000120/state.pt     model, optimiser, RNG states, counters, reward scaler
    checkpoints/update_000120/memory.*     the memory bank, in its own documented format
    checkpoints/latest                     text file naming the newest complete checkpoint

A checkpoint directory is filled under a temporary name and renamed when complete;
`latest` is replaced by rename too. A run killed at any moment leaves the previous
checkpoint intact and `latest` pointing at a complete one.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

KEEP = 2  # complete checkpoints kept on disk


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    pointer = Path(run_dir) / "checkpoints" / "latest"
    if not pointer.exists():
        return None
    path = pointer.parent / pointer.read_text().strip()
    return path if (path / "state.pt").exists() else None


def load_state(path: Path, device) -> dict[str, Any]:
    return torch.load(path / "state.pt", map_location=device, weights_only=True)
