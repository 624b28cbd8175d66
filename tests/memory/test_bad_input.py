"""Bad arguments raise errors that name the value and what is allowed."""
import pytest
import torch

from memory import MemoryBank
from tests.memory.conftest import make_bank


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
