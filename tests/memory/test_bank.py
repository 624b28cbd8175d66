"""MemoryBank against the entry-by-entry reference: isolation, scopes, eviction, masks."""
import numpy as np
import pytest
import torch

from memory import MemoryBank, register_mapping, team_map
from memory.mapping import MAPPINGS
from tests.memory.conftest import make_bank, random_rows
from tests.memory.reference import ReferenceBank

STORE_OF = {
    "solo": lambda N: (lambda b, i: b * N + i),
    "shared": lambda N: (lambda b, i: b),
    "none": lambda N: (lambda b, i: -1),
}


def n_stores(mode, B, N):
    return {"solo": B * N, "shared": B, "none": 0}[mode]


def assert_matches(recall, ref_out, B, N, k):
    for b in range(B):
        for i in range(N):
            got = ref_out[b, i]
            m = recall.mask[b, i].numpy()
            assert m.sum() == len(got), (b, i)
            assert m[:len(got)].all()                       # valid entries come first
            assert recall.ids[b, i, :len(got)].tolist() == [e["id"] for e, _ in got]
            assert recall.writers[b, i, :len(got)].tolist() == [e["writer"] for e, _ in got]
            if got:
                np.testing.assert_allclose(recall.scores[b, i, :len(got)].numpy(), [d for _, d in got],
                                           rtol=1e-5, atol=1e-5)
                np.testing.assert_allclose(recall.values[b, i, :len(got)].numpy(),
                                           np.stack([e["value"] for e, _ in got]), rtol=0, atol=0)
            pad = ~recall.mask[b, i]
            assert (recall.ids[b, i][pad] == -1).all() and (recall.writers[b, i][pad] == -1).all()
            assert (recall.scores[b, i][pad] == 0).all() and (recall.values[b, i][pad] == 0).all()


@pytest.mark.parametrize("mode", ["solo", "shared", "none"])
@pytest.mark.parametrize("eviction", ["fifo", "lru"])
@pytest.mark.parametrize("scope", ["episode", "layout", "lifetime"])
@pytest.mark.parametrize("kernel", ["batched", "faiss"])
def test_bank_matches_reference(mode, eviction, scope, kernel):
    rng = np.random.default_rng(1)
    B, N, Dk, Dv, C, k = 3, 3, 8, 4, 5, 4
    bank = MemoryBank(mode=mode, scope=scope, n_mazes=B, n_agents=N, key_dim=Dk, value_dim=Dv,
                      capacity=C, eviction=eviction, kernel=kernel)
    # lru with more writes per batch than capacity is covered by a separate test
    ref = ReferenceBank(STORE_OF[mode](N), N, n_stores(mode, B, N), C, eviction, scope)
    for t in range(40):
        keys, values = random_rows(rng, B, N, Dk, Dv)
        alive = torch.from_numpy(rng.random((B, N)) < 0.8)
        bank.write(keys, values, {"episode": 0, "step": t}, mask=alive)
        ref.write(keys.numpy(), values.numpy(), 0, t, alive.numpy())
        if t % 3 == 0:
            q, _ = random_rows(rng, B, N, Dk, Dv)
            read_alive = torch.from_numpy(rng.random((B, N)) < 0.8)
            recall = bank.read(q, k, alive=read_alive)
            assert_matches(recall, ref.read(q.numpy(), k, read_alive.numpy()), B, N, k)
        if t % 7 == 6:
            done = torch.from_numpy(rng.random(B) < 0.5)
            changed = torch.from_numpy(rng.random(B) < 0.5)
            bank.on_reset(done, changed)
            ref.on_reset(done.numpy(), changed.numpy())
        assert bank.sizes().tolist() == ref.size


def test_solo_never_returns_another_agents_entries(rng):
    B, N = 4, 3
    bank = make_bank(mode="solo", n_mazes=B, n_agents=N, capacity=50)
    for t in range(20):
        bank.write(*random_rows(rng, B, N, 8, 4), {"episode": 0, "step": t})
    r = bank.read(random_rows(rng, B, N, 8, 4)[0], 16)
    agent = torch.arange(N).view(1, N, 1).expand(B, N, 16)
    assert r.mask.all()
    assert (r.writers == agent).all()
    assert bank.stats()["cultural_share"] == 0.0


def test_shared_returns_maze_mates_never_other_mazes(rng):
    B, N = 4, 3
    bank = make_bank(mode="shared", n_mazes=B, n_agents=N, capacity=50)
    # Values carry the writing maze, so a leak across mazes would show.
    for t in range(10):
        keys, _ = random_rows(rng, B, N, 8, 4)
        values = torch.arange(B, dtype=torch.float32).view(B, 1, 1).expand(B, N, 4).clone()
        bank.write(keys, values, {"episode": 0, "step": t})
    r = bank.read(random_rows(rng, B, N, 8, 4)[0], 16)
    assert r.mask.all()
    maze = torch.arange(B, dtype=torch.float32).view(B, 1, 1, 1)
    assert (r.values == maze).all()
    others = r.writers != torch.arange(N).view(1, N, 1)
    assert others.any()                     # maze-mates' entries are retrieved
    assert 0.0 < bank.stats()["cultural_share"] < 1.0


def test_team_mapping_is_a_registered_mode(rng):
    register_mapping("pairs_test")(lambda B, N: team_map(B, N, 2))
    try:
        bank = make_bank(mode="pairs_test", n_mazes=2, n_agents=4, capacity=20)
        assert bank.n_stores == 4
        for t in range(5):
            bank.write(*random_rows(rng, 2, 4, 8, 4), {"episode": 0, "step": t})
        r = bank.read(random_rows(rng, 2, 4, 8, 4)[0], 10)
        team = torch.tensor([0, 0, 1, 1])
        assert (team[r.writers.clamp(min=0)][r.mask] == team.view(1, 4, 1).expand(2, 4, 10)[r.mask]).all()
    finally:
        MAPPINGS.pop("pairs_test")


@pytest.mark.parametrize("scope,done,changed,cleared", [
    ("episode", [True, False], [False, False], [True, False]),
    ("layout", [True, True], [False, True], [False, True]),
    ("lifetime", [True, True], [True, True], [False, False]),
])
def test_scope_semantics(rng, scope, done, changed, cleared):
    bank = make_bank(mode="shared", scope=scope, n_mazes=2, n_agents=2)
    bank.write(*random_rows(rng, 2, 2, 8, 4), {"episode": 0, "step": 0})
    bank.on_reset(torch.tensor(done), torch.tensor(changed))
    assert bank.sizes().tolist() == [0 if c else 2 for c in cleared]
    r = bank.read(random_rows(rng, 2, 2, 8, 4)[0], 3)
    assert r.mask.any(-1).tolist() == [[not c, not c] for c in cleared]


def test_fifo_evicts_oldest(rng):
    bank = make_bank(mode="solo", n_mazes=1, n_agents=1, capacity=4)
    for t in range(7):
        bank.write(*random_rows(rng, 1, 1, 8, 4), {"episode": 0, "step": t})
    r = bank.read(random_rows(rng, 1, 1, 8, 4)[0], 8)
    assert sorted(r.ids[r.mask].tolist()) == [3, 4, 5, 6]
    assert bank.sizes().tolist() == [4]


def test_lru_evicts_least_recently_read():
    bank = make_bank(mode="solo", n_mazes=1, n_agents=1, capacity=3, key_dim=3, value_dim=1)
    e = torch.eye(3)
    for t in range(3):                          # entries 0, 1, 2 with keys e0, e1, e2
        bank.write(e[t].view(1, 1, 3), torch.zeros(1, 1, 1), {"episode": 0, "step": t})
    bank.read(e[0].view(1, 1, 3), 1)            # touch entry 0
    bank.write(e[1].view(1, 1, 3), torch.zeros(1, 1, 1), {"episode": 0, "step": 3})   # clock 4
    bank.read(e[2].view(1, 1, 3), 1)            # touch entry 2 at clock 4
    bank.write(e[2].view(1, 1, 3), torch.zeros(1, 1, 1), {"episode": 0, "step": 4})
    # entry 1 (written at clock 2, never read) went first, then entry 0 (read at clock 3)
    r = bank.read(torch.ones(1, 1, 3), 3)
    assert sorted(r.ids[r.mask].tolist()) == [2, 3, 4]


def test_more_writes_than_capacity_in_one_batch_keeps_the_last(rng):
    for eviction in ("fifo", "lru"):
        bank = make_bank(mode="shared", n_mazes=1, n_agents=5, capacity=3, eviction=eviction)
        bank.write(*random_rows(rng, 1, 5, 8, 4), {"episode": 0, "step": 0})
        r = bank.read(random_rows(rng, 1, 5, 8, 4)[0], 5)
        assert sorted(r.ids[0, 0][r.mask[0, 0]].tolist()) == [2, 3, 4]
        assert sorted(r.writers[0, 0][r.mask[0, 0]].tolist()) == [2, 3, 4]


def test_nearly_empty_store_pads_and_masks(rng):
    bank = make_bank(mode="solo", n_mazes=2, n_agents=2, capacity=10)
    mask = torch.tensor([[True, False], [False, False]])
    bank.write(*random_rows(rng, 2, 2, 8, 4), {"episode": 0, "step": 0}, mask=mask)
    r = bank.read(random_rows(rng, 2, 2, 8, 4)[0], 5)
    assert r.mask.sum(-1).tolist() == [[1, 0], [0, 0]]
    assert r.keys.shape == (2, 2, 5, 8) and r.values.shape == (2, 2, 5, 4)
    assert (r.keys[~r.mask] == 0).all() and (r.ids[~r.mask] == -1).all()
    assert bank.stats()["hit_rate"] == 0.25


def test_dead_agents_neither_read_nor_write(rng):
    bank = make_bank(mode="shared", n_mazes=1, n_agents=3, capacity=10)
    alive = torch.tensor([[True, False, True]])
    for t in range(3):
        bank.write(*random_rows(rng, 1, 3, 8, 4), {"episode": 0, "step": t}, mask=alive)
    r = bank.read(random_rows(rng, 1, 3, 8, 4)[0], 8, alive=alive)
    assert not r.mask[0, 1].any()
    assert r.mask[0, 0].sum() == 6 and 1 not in r.writers[0, 0].tolist()
    assert bank.stats()["writes_per_agent"] == [3, 0, 3]


def test_mode_none_reads_empty_and_writes_nothing(rng):
    bank = make_bank(mode="none")
    assert bank.write(*random_rows(rng, 3, 2, 8, 4), {"episode": 0, "step": 0}) == 0
    r = bank.read(random_rows(rng, 3, 2, 8, 4)[0], 4)
    assert not r.mask.any() and r.keys.shape == (3, 2, 4, 8)


@pytest.mark.parametrize("policy,every,expected", [("every", 1, 6), ("every_k", 3, 2), ("gated", 1, 3)])
def test_write_policy(rng, policy, every, expected):
    bank = make_bank(mode="solo", n_mazes=1, n_agents=1, capacity=10, write_policy=policy, write_every=every)
    gates = [True, False, True, True, False, False]
    for t in range(6):
        gate = torch.tensor([[gates[t]]]) if policy == "gated" else None
        bank.write(*random_rows(rng, 1, 1, 8, 4), {"episode": 0, "step": t}, gate=gate)
    assert bank.sizes().tolist() == [expected]


def test_gated_policy_needs_a_gate(rng):
    bank = make_bank(write_policy="gated")
    with pytest.raises(ValueError, match="gate"):
        bank.write(*random_rows(rng, 3, 2, 8, 4), {"episode": 0, "step": 0})


def test_keys_are_normalised_and_meta_recorded(rng):
    bank = make_bank(mode="shared", n_mazes=2, n_agents=2, capacity=4)
    keys, values = random_rows(rng, 2, 2, 8, 4)
    bank.write(keys * 5, values, {"episode": torch.tensor([7, 8]), "step": torch.tensor([[1, 2], [3, 4]])})
    s = bank.ring
    np.testing.assert_allclose(s.keys[:, :2].norm(dim=-1).numpy(), 1.0, rtol=1e-6)
    assert s.episode[:, :2].tolist() == [[7, 7], [8, 8]]
    assert s.step[:, :2].tolist() == [[1, 2], [3, 4]]
    assert s.writer[:, :2].tolist() == [[0, 1], [0, 1]] and s.maze[:, :2].tolist() == [[0, 0], [1, 1]]
    r = bank.read(keys, 1)                       # each agent finds its own key first
    assert (r.writers[..., 0] == torch.arange(2)).all()
    np.testing.assert_allclose(r.scores[..., 0].numpy(), 1.0, rtol=1e-5)
    assert s.read_count.sum() == 4 and (s.last_read[:, :2] == 1).all()
    st = bank.stats()
    assert st["top1_similarity"] == pytest.approx(1.0, abs=1e-5) and st["retrieved_age"] == 0.0


def test_concurrent_writes_to_a_shared_store_do_not_corrupt():
    import threading
    B, N, C = 2, 4, 10_000
    bank = make_bank(mode="shared", n_mazes=B, n_agents=N, capacity=C)
    n_threads, n_steps = 4, 50
    errors = []

    def worker(tid):
        g = np.random.default_rng(tid)
        try:
            for t in range(n_steps):
                keys, values = random_rows(g, B, N, 8, 4)
                bank.write(keys, values, {"episode": tid, "step": t})
                bank.read(keys, 4)
        except Exception as e:                   # surfaced below; a thread cannot fail the test
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    total = n_threads * n_steps * N
    assert bank.sizes().tolist() == [total] * B
    ids = bank.ring.entry_id[:, :total]
    for b in range(B):                           # every entry landed once, none lost or doubled
        assert sorted(ids[b].tolist()) == list(range(total))
        eps = bank.ring.episode[b, :total]
        assert torch.bincount(eps, minlength=n_threads).tolist() == [n_steps * N] * n_threads
    assert bank.stats()["writes"] == total * B
