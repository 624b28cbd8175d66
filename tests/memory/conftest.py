import numpy as np
import pytest
import torch

from memory import MemoryBank


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_bank(**kw):
    base = dict(mode="solo", scope="lifetime", n_mazes=3, n_agents=2, key_dim=8, value_dim=4,
                capacity=6)
    base.update(kw)
    return MemoryBank(**base)


def random_rows(rng, B, N, Dk, Dv):
    keys = torch.from_numpy(rng.standard_normal((B, N, Dk)).astype(np.float32))
    values = torch.from_numpy(rng.standard_normal((B, N, Dv)).astype(np.float32))
    return keys, values
