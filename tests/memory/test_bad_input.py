"""Bad arguments raise errors that name the value and what is allowed."""
import re

import numpy as np
import pytest
import torch

from memory import MemoryBank, MemoryFileError
from tests.memory.conftest import make_bank, random_rows


@pytest.mark.parametrize("kw,exc,match", [
    ({"mode": "team"}, ValueError, r"mode='team'.*'solo'"),
    ({"scope": "forever"}, ValueError, r"scope='forever'.*'lifetime'"),
    ({"index": "lsh"}, ValueError, r"index='lsh'.*'hnsw'"),
    ({"eviction": "random"}, ValueError, r"eviction='random'.*'lru'"),
    ({"write_policy": "sometimes"}, ValueError, r"write_policy='sometimes'"),
    ({"kernel": "gpu"}, ValueError, r"kernel='gpu'"),
    ({"capacity": 0}, ValueError, r"capacity=0 must be >= 1"),
    ({"capacity": 10.0}, TypeError, r"capacity=10.0 must be an int"),
    ({"key_dim": -1}, ValueError, r"key_dim=-1"),
    ({"n_agents": 0}, ValueError, r"n_agents=0"),
    ({"write_every": 0}, ValueError, r"write_every=0"),
    ({"ivf": {"nlist": 100}, "index": "ivf"}, ValueError, r"ivf nlist=100 must be in \[1, 6\]"),
    ({"ivf": {"n_list": 4}}, ValueError, r"ivf parameter='n_list'"),
    ({"hnsw": {"rebuild_fraction": 0.0}, "index": "hnsw"}, ValueError, r"rebuild_fraction"),
    ({"non_finite": "ignore"}, ValueError, r"non_finite='ignore'.*'drop'"),
])
def test_bad_config(kw, exc, match):
    with pytest.raises(exc, match=match):
        make_bank(**kw)


def test_bad_read_arguments():
    bank = make_bank()                      # B=3, N=2, Dk=8
    q = torch.zeros(3, 2, 8)
    for k in (0, -1, 2049):
        with pytest.raises(ValueError, match=rf"k={k} must be in \[1, 2048\]"):
            bank.read(q, k)
    with pytest.raises(TypeError, match="k=2.5 must be an int"):
        bank.read(q, 2.5)
    with pytest.raises(ValueError, match=r"queries has shape \(3, 2, 7\); expected \(3, 2, 8\)"):
        bank.read(torch.zeros(3, 2, 7), 4)
    with pytest.raises(ValueError, match=r"queries has shape \(6, 8\)"):
        bank.read(torch.zeros(6, 8), 4)
    with pytest.raises(TypeError, match="queries has dtype torch.int64"):
        bank.read(torch.zeros(3, 2, 8, dtype=torch.int64), 4)
    with pytest.raises(ValueError, match=r"alive has shape \(3,\)"):
        bank.read(q, 4, alive=torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="alive has dtype torch.float32"):
        bank.read(q, 4, alive=torch.ones(3, 2))


def test_bad_write_arguments():
    bank = make_bank()
    keys, values = torch.zeros(3, 2, 8), torch.zeros(3, 2, 4)
    meta = {"episode": 0, "step": 0}
    with pytest.raises(ValueError, match=r"values has shape \(3, 2, 5\)"):
        bank.write(keys, torch.zeros(3, 2, 5), meta)
    with pytest.raises(KeyError, match="meta lacks 'step'"):
        bank.write(keys, values, {"episode": 0})
    with pytest.raises(ValueError, match=r"meta episode has shape \(4,\)"):
        bank.write(keys, values, {"episode": torch.zeros(4), "step": 0})
    with pytest.raises(ValueError, match=r"mask has shape \(2, 3\)"):
        bank.write(keys, values, meta, mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="keys must be a torch.Tensor"):
        bank.write(keys.numpy(), values, meta)


def test_bad_reset_arguments():
    bank = make_bank()
    with pytest.raises(ValueError, match=r"maze_mask has shape \(2,\); expected \(3\)"):
        bank.on_reset(torch.ones(2, dtype=torch.bool))
    with pytest.raises(TypeError, match="maze_mask has dtype torch.int64"):
        bank.on_reset(torch.ones(3, dtype=torch.int64))


@pytest.mark.parametrize("meta,exc,match", [
    ({"episode": 0, "step": torch.full((3,), 2.0)}, TypeError, "meta step has dtype torch.float32"),
    ({"episode": 0, "step": 1.5}, TypeError, "meta step has dtype torch.float32"),
    ({"episode": torch.ones(3, 2, dtype=torch.bool), "step": 0}, TypeError,
     "meta episode has dtype torch.bool"),
    ({"episode": torch.tensor([0, -1, 0]), "step": 0}, ValueError,
     r"meta episode must be >= 0; got -1 at row \(maze, agent\) \(1, 0\), \(1, 1\)$"),
    ({"episode": 0, "step": -3}, ValueError, r"meta step must be >= 0; got -3"),
])
def test_bad_meta_is_refused_before_anything_is_written(meta, exc, match):
    bank = make_bank()
    keys, values = random_rows(np.random.default_rng(0), 3, 2, 8, 4)
    with pytest.raises(exc, match=match):
        bank.write(keys, values, meta)
    assert int(bank.sizes().sum()) == 0 and bank.clock == 0


def test_bad_write_entries_meta():
    bank = make_bank()
    ints = dict(maze=torch.tensor([0, 2]), agent=torch.tensor([1, 0]),
                episode=torch.tensor([0, 0]), step=torch.tensor([0, 1]))
    keys, values = torch.randn(2, 8), torch.randn(2, 4)
    with pytest.raises(TypeError, match="step has dtype torch.float32"):
        bank.write_entries(keys=keys, values=values, **{**ints, "step": torch.tensor([0.0, 1.0])})
    with pytest.raises(ValueError, match=r"episode must be >= 0; got -2 at entry 1 \(maze 2, agent 0\)"):
        bank.write_entries(keys=keys, values=values, **{**ints, "episode": torch.tensor([0, -2])})
    assert int(bank.sizes().sum()) == 0


def test_cuda_device_without_cuda_names_the_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda' needs CUDA, but CUDA is not available.*"
                                         r"device='cpu'"):
        make_bank(device="cuda")
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        make_bank(device="gpu")


def test_load_onto_a_missing_cuda_device_fails_before_reading(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda:0' needs CUDA"):
        MemoryBank.load(tmp_path / "absent.npz", device="cuda:0")


def saved_bank(tmp_path, **kw):
    """A saved shared bank of capacity 6: store 0 full and wrapped, 1 and 2 partly filled."""
    bank = make_bank(mode="shared", **kw)
    rng = np.random.default_rng(0)
    for t in range(4):
        mask = torch.tensor([[True, True], [t < 2, False], [t < 1, t < 1]])
        bank.write(*random_rows(rng, 3, 2, 8, 4), {"episode": 0, "step": t}, mask=mask)
    assert bank.sizes().tolist() == [6, 2, 2] and bank.ring.cursor.tolist() == [2, 2, 2]
    path = tmp_path / "bank.npz"
    bank.save(path)
    return path


def edited(path, member, change):
    """Rewrite the archive at `path` with `change(array)` applied to one member."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name].copy() for name in npz.files}
    change(arrays[member])
    np.savez(path, **arrays)
    return path


def assign(index, value):
    def change(a):
        a[index] = value
    return change


@pytest.mark.parametrize("member,change,match", [
    ("ring/sizes", assign(0, 7), r"'ring/sizes': store 0 holds 7 entries; must be in \[0, 6\]"),
    ("ring/sizes", assign(1, -1), r"'ring/sizes': store 1 holds -1 entries"),
    ("ring/sizes", assign(1, 4), r"'ring/sizes': store 1 says 4 entries, but 'ring/entry_id' marks "
                                 r"slots \[0, 1\] as occupied"),
    ("ring/sizes", assign(0, 5), r"'ring/sizes': store 0 says 5 entries.*\[0, 1, 2, 3, 4, 5\]"),
    ("ring/entry_id", assign((2, 4), 9), r"'ring/sizes': store 2 says 2 entries.*\[0, 1, 4\]"),
    ("ring/cursor", assign(1, 6), r"'ring/cursor': store 1 is 6; must be in \[0, 6\)"),
    ("ring/cursor", assign(2, 0), r"'ring/cursor': store 2 is 0, but a store of 2 entries \(not "
                                  r"full\) writes next at slot 2"),
    ("ring/next_id", assign(0, 3), r"'ring/next_id': store 0 is 3, but id 7 is in use"),
    ("ring/writer", assign((1, 0), 2), r"'ring/writer': store 1 holds index 2; must be in \[0, 2\)"),
    ("ring/maze", assign((2, 1), -1), r"'ring/maze': store 2 holds index -1; must be in \[0, 3\)"),
    ("ring/keys", assign((0, 3, 1), np.nan), r"'ring/keys': store 0 holds NaN or inf"),
    ("ring/values", assign((2, 0, 0), np.inf), r"'ring/values': store 2 holds NaN or inf"),
])
def test_edited_ring_buffers_are_refused(tmp_path, member, change, match):
    path = edited(saved_bank(tmp_path), member, change)
    with pytest.raises(MemoryFileError, match=rf"^{re.escape(str(path))}: member {match}"):
        MemoryBank.load(path)


def test_unedited_file_with_every_store_state_loads(tmp_path):
    for eviction in ("fifo", "lru"):
        bank = MemoryBank.load(saved_bank(tmp_path, eviction=eviction))
        assert bank.sizes().tolist() == [6, 2, 2]
