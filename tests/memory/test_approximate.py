"""IVF and HNSW stores: recall against exact search, eviction kept in step with the buffer."""
import time

import numpy as np
import pytest
import torch

from memory import MemoryBank
from memory.ring import RingStores
from memory.stores import HNSWParams, IVFParams, make_index
from tests.memory.conftest import random_rows
from tests.memory.reference import brute_force, unit


def clustered(rng, n, d, n_clusters, n_queries):
    """Embedding-like data: unit vectors around random unit centres with Gaussian noise of
    0.12 per coordinate, queries drawn the same way. Uniform Gaussians would be HNSW's worst
    case."""
    centres = unit(rng.standard_normal((n_clusters, d)))
    def draw(m):
        c = centres[rng.integers(0, n_clusters, m)]
        return unit(c + 0.12 * rng.standard_normal((m, d))).astype(np.float32)
    return draw(n), draw(n_queries)


def one_store(index, xb, params):
    ring = RingStores(1, xb.shape[0], xb.shape[1], 1, "fifo", torch.device("cpu"))
    backend = make_index(index, ring, ivf=params if index == "ivf" else None,
                         hnsw=params if index == "hnsw" else None)
    n = xb.shape[0]
    store = torch.zeros(n, dtype=torch.int64)
    meta = {name: torch.zeros(n, dtype=torch.int64) for name in ("writer", "maze", "episode", "step")}
    s, slot, old = ring.write(store, torch.from_numpy(xb), torch.zeros(n, 1), meta, 1)
    backend.added(s, slot, old)
    return backend


def recall_at_10(index, params, n, rng):
    d = 64
    xb, xq = clustered(rng, n, d, n_clusters=max(n // 100, 10), n_queries=500)
    t0 = time.perf_counter()
    backend = one_store(index, xb, params)
    q = torch.from_numpy(xq).view(1, -1, d)
    _, I = backend.search(q, torch.ones(1, q.shape[1], dtype=torch.bool), 10)
    elapsed = time.perf_counter() - t0
    _, Ie = brute_force(xq, xb, 10)
    hits = [len(set(a) & set(b)) for a, b in zip(I[0].numpy(), Ie)]
    return np.mean(hits) / 10, elapsed


# Documented parameters: IVF nlist = 4 * sqrt(n), nprobe = 16; HNSW M = 32,
# ef_construction = 80, ef_search = 128.
@pytest.mark.parametrize("index,params", [("ivf", IVFParams(nlist=256, nprobe=16)),
                                          ("hnsw", HNSWParams(M=32, ef_construction=80, ef_search=128))])
@pytest.mark.parametrize("n", [20_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_recall_at_10_on_clustered_vectors(index, params, n):
    if index == "ivf":
        params = IVFParams(nlist=int(4 * n ** 0.5), nprobe=16)
    r, _ = recall_at_10(index, params, n, np.random.default_rng(0))
    assert r >= 0.95, f"{index} recall@10 = {r:.3f} at n={n}"


@pytest.mark.parametrize("index", ["ivf", "hnsw"])
def test_approximate_bank_matches_exact_with_eviction(index):
    """With every cell probed (IVF) or a wide beam (HNSW) on small stores, an approximate bank
    must return what the exact bank returns, through fifo overwrites and resets."""
    rng = np.random.default_rng(3)
    B, N, C = 2, 2, 40
    kw = dict(mode="shared", scope="episode", n_mazes=B, n_agents=N, key_dim=8, value_dim=4, capacity=C)
    exact = MemoryBank(index="flat", **kw)
    approx = MemoryBank(index=index, ivf={"nlist": 4, "nprobe": 4, "train_size": 20},
                        hnsw={"M": 16, "ef_search": 64, "rebuild_fraction": 0.5}, **kw)
    for t in range(120):
        keys, values = random_rows(rng, B, N, 8, 4)
        for bank in (exact, approx):
            bank.write(keys, values, {"episode": 0, "step": t})
        if t % 5 == 0:
            q = random_rows(rng, B, N, 8, 4)[0]
            a, b = exact.read(q, 5), approx.read(q, 5)
            assert torch.equal(a.ids, b.ids), t
            assert torch.allclose(a.scores, b.scores, atol=1e-5)
        if t == 70:
            for bank in (exact, approx):
                bank.on_reset(torch.tensor([True, False]))
    if index == "hnsw":                         # tombstones were rebuilt away at least once
        assert all(ix.ntotal <= 2 * C for ix in approx.index.indexes)
