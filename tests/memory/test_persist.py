"""Save / load: bit-exact round trip, truncated and foreign files, a crash mid-save."""
import numpy as np
import pytest
import torch

import memory.persist as persist
from memory import MemoryBank, MemoryFileError
from tests.memory.conftest import make_bank, random_rows


def filled(rng, **kw):
    bank = make_bank(mode="shared", n_mazes=2, n_agents=3, capacity=40, **kw)
    for t in range(30):
        bank.write(*random_rows(rng, 2, 3, 8, 4), {"episode": t // 10, "step": t % 10})
        if t % 4 == 0:
            bank.read(random_rows(rng, 2, 3, 8, 4)[0], 5)
    return bank


@pytest.mark.parametrize("index", ["flat", "ivf", "hnsw"])
def test_round_trip_is_bit_exact(rng, tmp_path, index):
    bank = filled(rng, index=index, eviction="lru", ivf={"nlist": 4, "nprobe": 2}, hnsw={"M": 8})
    path = tmp_path / "bank.npz"
    bank.save(path)
    loaded = MemoryBank.load(path)
    assert loaded.config == bank.config and loaded.clock == bank.clock
    for name, t in bank.ring.state().items():
        assert torch.equal(t, getattr(loaded.ring, name)), name
    assert loaded.stats() == bank.stats()
    q = random_rows(rng, 2, 3, 8, 4)[0]
    a, b = bank.read(q, 6), loaded.read(q, 6)
    for f in ("keys", "values", "scores", "mask", "ids", "writers"):
        assert torch.equal(getattr(a, f), getattr(b, f)), f
    # and they stay in step afterwards
    keys, values = random_rows(rng, 2, 3, 8, 4)
    bank.write(keys, values, {"episode": 9, "step": 0})
    loaded.write(keys, values, {"episode": 9, "step": 0})
    assert torch.equal(bank.read(q, 6).ids, loaded.read(q, 6).ids)


def test_truncated_file_raises(rng, tmp_path):
    path = tmp_path / "bank.npz"
    filled(rng).save(path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(MemoryFileError, match="not a complete memory-bank file"):
            MemoryBank.load(bad)


def test_foreign_files_raise(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(MemoryFileError, match="header"):
        MemoryBank.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(MemoryFileError, match="neither an .npz archive nor a .npy array") as err:
        MemoryBank.load(tmp_path / "text.npz")
    assert "pickle" not in str(err.value)       # no advice to load a foreign file unsafely
    header = np.frombuffer(b'{"format": "memory-bank", "version": 99}', dtype=np.uint8)
    np.savez(tmp_path / "future.npz", header=header)
    with pytest.raises(MemoryFileError, match="version 99"):
        MemoryBank.load(tmp_path / "future.npz")


def test_object_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "pickled.npz", header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(MemoryFileError):
        MemoryBank.load(tmp_path / "pickled.npz")


def test_crash_during_save_keeps_previous_file(rng, tmp_path, monkeypatch):
    path = tmp_path / "bank.npz"
    bank = filled(rng)
    bank.save(path)
    before = path.read_bytes()
    bank.write(*random_rows(rng, 2, 3, 8, 4), {"episode": 5, "step": 0})

    def failing(f, arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(persist, "write_archive", failing)
    with pytest.raises(OSError, match="disk full"):
        bank.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.npz"]   # no temporary left
    assert MemoryBank.load(path).clock == bank.clock - 1
