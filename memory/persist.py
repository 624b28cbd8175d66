"""Saving and loading a `MemoryBank`: one .npz file, written atomically, never pickled.

File format (version 1): an uncompressed NumPy .npz archive (a zip of .npy arrays), read
with `allow_pickle=False`, so loading never executes code. Members:

    header            uint8   UTF-8 JSON: {"format": "memory-bank", "version": 1,
                              "config": <BankConfig fields>, "clock": int, "n_stores": S}
    store_of          int64   (B, N) the (maze, agent) -> store map in force
    ring/keys         float32 (S, C, Dk)      ring/values  float32 (S, C, Dv)
    ring/<meta>       int64   (S, C) for entry_id, writer, maze, episode, step, write_time,
                              last_read, read_count (see memory/ring.py)
    ring/sizes, ring/cursor, ring/next_id   int64 (S,)
    stat/<counter>    float64 () and stat/stat_writes_per_agent int64 (N,)
    index/<name>      the approximate indexes in FAISS's own serialisation (uint8), with the
                      HNSW node maps; absent for `flat`

Atomicity: the archive is written through `fileio.atomic` (a temporary file beside the
target, fsynced, then renamed over it), so a crash at any point leaves either the old file or
the new one. Loading reads and checks every member into a new bank before returning it; a
truncated or foreign file raises `MemoryFileError` and nothing is half-loaded. The ring
buffers must keep the invariants reads and writes rely on (sizes within the capacity and
matching the occupied slots, cursors and entry ids consistent with them, writer and maze
indexes within the bank, finite keys and values); an edited file that breaks one raises
`MemoryFileError` naming the file and the member.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from fileio.atomic import atomic_open
from memory.checks import check_device

FORMAT, VERSION = "memory-bank", 1


class MemoryFileError(ValueError):
    """A file that is not a complete memory-bank archive of a supported version."""


def bank_arrays(bank) -> dict[str, np.ndarray]:
    """Every array of the bank's state, by archive member name."""
    header = {"format": FORMAT, "version": VERSION, "config": asdict(bank.config),
              "clock": bank.clock, "n_stores": bank.n_stores}
    arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
              "store_of": bank.store_of.cpu().numpy()}
    for name, t in bank.ring.state().items():
        arrays[f"ring/{name}"] = t.cpu().numpy()
    for name, t in bank.stats_.state().items():
        arrays[f"stat/{name}"] = t.cpu().numpy()
    for name, a in bank.index.state().items():
        arrays[f"index/{name}"] = np.asarray(a)
    return arrays


def write_archive(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez into an open file (split out so tests can make it fail mid-write)."""
    np.savez(path, **arrays)


def save_bank(bank, path) -> None:
    arrays = bank_arrays(bank)
    with atomic_open(path) as f:
        write_archive(f, arrays)


def read_archive(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a memory-bank file, fully read and CRC-checked."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        # numpy takes bytes that are neither .npz nor .npy for a pickle and suggests loading it
        # unsafely: advice this file format must never give.
        why = "neither an .npz archive nor a .npy array" if "pickle" in str(e) else str(e)
        raise MemoryFileError(f"{path} is not a complete memory-bank file: {why}") from None
    if "header" not in arrays:
        raise MemoryFileError(f"{path} has no 'header' member; not a memory-bank file")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MemoryFileError(f"{path} has an unreadable header: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise MemoryFileError(f"{path} is not a memory-bank file (format="
                              f"{header.get('format') if isinstance(header, dict) else None!r})")
    if header.get("version") != VERSION:
        raise MemoryFileError(f"{path} has format version {header.get('version')!r}; "
                              f"this code reads version {VERSION}")
    return header, arrays


def load_bank(cls, path, device=None):
    path = Path(path)
    check_device(device or "cpu")
    header, arrays = read_archive(path)
    try:
        config = dict(header["config"])
        bank = cls(device=device or "cpu", **config)
        if header["n_stores"] != bank.n_stores:
            raise MemoryFileError(f"{path} holds {header['n_stores']} stores; its config makes "
                                  f"{bank.n_stores}")
        saved_map = torch.from_numpy(arrays["store_of"])
        if not torch.equal(saved_map, bank.store_of.cpu()):
            raise MemoryFileError(f"{path}: mode {config['mode']!r} maps agents to stores "
                                  "differently than when the file was saved")

        def group(prefix):
            n = len(prefix)
            return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix)}

        bank.ring.load_state({k: torch.from_numpy(v) for k, v in group("ring/").items()})
        bank.stats_.load_state({k: torch.from_numpy(v) for k, v in group("stat/").items()})
        bank.index.load_state(group("index/"))
        bank.clock = int(header["clock"])
        check_ring(path, bank.ring, bank.config)
    except MemoryFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise MemoryFileError(f"{path} does not hold a consistent memory bank: {e!r}") from e
    return bank


def check_ring(path: Path, ring, config) -> None:
    """Raise `MemoryFileError` naming the member and store where loaded ring buffers break an
    invariant of memory/ring.py and memory/eviction.py (checked in order, first failure wins)."""
    C = config.capacity
    sizes, cursor, next_id = ring.sizes.cpu(), ring.cursor.cpu(), ring.next_id.cpu()
    entry_id = ring.entry_id.cpu()

    def refuse(member: str, bad: torch.Tensor, why) -> None:
        """bad (S,) bool per store; why(s) says what is wrong with store s."""
        stores = torch.nonzero(bad).flatten().tolist()
        if stores:
            s = stores[0]
            more = f" (and {len(stores) - 1} more stores)" if len(stores) > 1 else ""
            raise MemoryFileError(f"{path}: member 'ring/{member}': store {s} {why(s)}{more}")

    refuse("sizes", (sizes < 0) | (sizes > C),
           lambda s: f"holds {int(sizes[s])} entries; must be in [0, {C}] (the capacity)")
    occupied = entry_id >= 0                                                  # (S, C)
    prefix = torch.arange(C).view(1, C) < sizes.view(-1, 1)
    refuse("sizes", (occupied != prefix).any(dim=1),
           lambda s: f"says {int(sizes[s])} entries, but 'ring/entry_id' marks slots "
                     f"{_slots(occupied[s])} as occupied (entries fill the first `size` slots)")
    refuse("cursor", (cursor < 0) | (cursor >= C),
           lambda s: f"is {int(cursor[s])}; must be in [0, {C})")
    refuse("cursor", (sizes < C) & (cursor != sizes),
           lambda s: f"is {int(cursor[s])}, but a store of {int(sizes[s])} entries (not full) "
                     f"writes next at slot {int(sizes[s])}")
    newest = entry_id.max(dim=1).values                                      # -1 when empty
    refuse("next_id", next_id <= newest,
           lambda s: f"is {int(next_id[s])}, but id {int(newest[s])} is in use (ids are never reused)")
    for member, high in (("writer", config.n_agents), ("maze", config.n_mazes)):
        t = getattr(ring, member).cpu()
        outside = occupied & ((t < 0) | (t >= high))                         # (S, C)
        refuse(member, outside.any(dim=1),
               lambda s: f"holds index {int(t[s][outside[s]][0])}; must be in [0, {high})")
    for member in ("keys", "values"):
        t = getattr(ring, member).cpu()
        refuse(member, ~torch.isfinite(t).flatten(1).all(dim=1),
               lambda s: "holds NaN or inf")


def _slots(occupied: torch.Tensor) -> str:
    slots = torch.nonzero(occupied).flatten().tolist()
    return "none" if not slots else f"{slots[:8]}" + (" ..." if len(slots) > 8 else "")
