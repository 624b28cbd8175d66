"""Atomic file writes: the mode a plain open() gives, and nothing half-written after a failure."""
import os
import stat

import pytest

import fileio.atomic as atomic
from fileio.atomic import atomic_open, atomic_write_bytes, atomic_write_text

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and the umask are POSIX")


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_mode_follows_the_umask_for_new_and_replaced_files(tmp_path, umask):
    path = tmp_path / "results.json"
    atomic_write_text(path, "{}")
    assert mode(path) == 0o666 & ~umask
    path.chmod(0o600)
    atomic_write_bytes(path, b"[]")                # a replaced file gets the same mode
    assert mode(path) == 0o666 & ~umask
    assert path.read_bytes() == b"[]"


@posix_only
def test_every_writer_of_the_project_uses_it(tmp_path, umask):
    """The files that came out 0600 before: a checkpoint's `latest`, a run's progress file, a
    saved memory bank."""
    from experiments import checkpoint
    from experiments.progress import FILE_NAME, write_run_progress
    from memory import MemoryBank

    checkpoint.save(tmp_path, 1, {"update": 1})
    write_run_progress(tmp_path, 5, 10)
    MemoryBank(mode="solo", n_mazes=1, n_agents=1, key_dim=2, value_dim=2).save(tmp_path / "bank.npz")
    for path in (tmp_path / "checkpoints" / "latest", tmp_path / FILE_NAME, tmp_path / "bank.npz"):
        assert mode(path) == 0o666 & ~umask, path.name


def test_parent_folders_are_created_and_text_is_utf8(tmp_path):
    path = tmp_path / "a" / "b" / "report.md"
    atomic_write_text(path, "naïve\n", durable=False)
    assert path.read_bytes() == "naïve\n".encode("utf-8")


def test_failure_mid_write_keeps_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old: 1\n")
    with pytest.raises(OSError, match="disk full"):
        with atomic_open(path) as f:
            f.write(b"new: ")
            raise OSError("disk full")
    assert path.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_failed_rename_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "latest"
    path.write_text("update_000001\n")

    def refuse(src, dst):
        raise PermissionError(f"cannot replace {dst}")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError, match="cannot replace"):
        atomic_write_text(path, "update_000002\n")
    assert path.read_text() == "update_000001\n"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]
