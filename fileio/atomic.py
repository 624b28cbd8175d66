"""Replacing a file so that a reader sees its old content or its new, never part of either.

The new content goes to a temporary file beside the target (the same file system, so the
rename is atomic), is flushed and fsynced, and is then renamed over the target; the folder is
fsynced after, so the rename itself survives a crash. A failure at any point removes the
temporary file and leaves the target as it was. The file gets the mode a plain `open()` gives
a new file, 0o666 without the umask's bits (tempfile.mkstemp's 0o600 would survive the rename).
Missing parent folders are created.

This package imports nothing of the project, so envs, memory, agents and experiments may all
use it.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_open(path: str | os.PathLike, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file for the new content of `path`, which it replaces when the block ends
    without an exception. durable=False skips the fsyncs, for files that are only hints
    rewritten often (a crash may then lose the newest content, never leave half of it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    f = open(tmp, "xb")  # exclusive: never someone else's temporary file
    try:
        with f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _sync_folder(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    with atomic_open(path, durable) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable)


def _sync_folder(folder: Path) -> None:
    """fsync a folder, making a rename in it durable; not every platform can open one."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
