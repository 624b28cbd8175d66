"""NaN and inf never enter a store: a bad write raises and changes nothing, or (non_finite="drop")
stores the good rows and counts the bad ones; a bad query raises before anything is read."""
import numpy as np
import pytest
import torch

from memory import MemoryBank
from tests.memory.conftest import make_bank, random_rows

B, N, DK, DV = 3, 2, 8, 4
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")])]
RECALL_FIELDS = ("keys", "values", "scores", "mask", "ids", "writers")


def shared_bank(device="cpu", **kw):
    """A shared bank (one store per maze) after 5 writes of seeded random rows."""
    bank = make_bank(mode="shared", capacity=16, device=device, **kw)
    rng = np.random.default_rng(0)
    for t in range(5):
        keys, values = random_rows(rng, B, N, DK, DV)
        bank.write(keys.to(device), values.to(device), {"episode": 0, "step": t})
    return bank


def ring_copy(bank):
    return {name: t.clone() for name, t in bank.ring.state().items()}


def assert_same_ring(bank, before):
    for name, t in bank.ring.state().items():
        assert torch.equal(t, before[name]), name


def assert_same_recall(a, b):
    for f in RECALL_FIELDS:
        assert torch.equal(getattr(a, f), getattr(b, f)), f


def poisoned_rows(device):
    """Finite random rows, but a NaN in the key of (maze 1, agent 0)."""
    keys, values = random_rows(np.random.default_rng(1), B, N, DK, DV)
    keys[1, 0, 3] = float("nan")
    return keys.to(device), values.to(device)


@pytest.mark.parametrize("device", DEVICES)
def test_nan_key_in_a_shared_store_raises_and_changes_nothing(device):
    bank, twin = shared_bank(device), shared_bank(device)
    before, clock, stats = ring_copy(bank), bank.clock, bank.stats()
    keys, values = poisoned_rows(device)
    with pytest.raises(ValueError, match=r"non-finite .* keys at row \(maze, agent\) \(1, 0\)\. "
                                         r"Nothing was written.*non_finite='drop'"):
        bank.write(keys, values, {"episode": 0, "step": 5})
    assert_same_ring(bank, before)
    assert bank.clock == clock and bank.stats() == stats
    # Maze-mates of the bad row (and everyone else) read what they read without the bad call.
    q = random_rows(np.random.default_rng(2), B, N, DK, DV)[0].to(device)
    got, want = bank.read(q, 6), twin.read(q, 6)
    assert_same_recall(got, want)
    assert bool(torch.isfinite(got.scores).all())


@pytest.mark.parametrize("device", DEVICES)
def test_drop_stores_the_good_rows_and_counts_the_bad(device):
    bank = shared_bank(device, non_finite="drop")
    reference = shared_bank(device)
    keys, values = poisoned_rows(device)
    values[2, 1, 0] = float("inf")
    assert bank.write(keys, values, {"episode": 0, "step": 5}) == B * N - 2
    good = torch.ones(B, N, dtype=torch.bool, device=device)
    good[1, 0] = good[2, 1] = False
    reference.write(keys, values, {"episode": 0, "step": 5}, mask=good)
    assert_same_ring(bank, ring_copy(reference))
    stats = bank.stats()
    assert stats["non_finite_dropped"] == 2 and stats["writes"] == 5 * B * N + B * N - 2
    assert reference.stats()["non_finite_dropped"] == 0
    assert bool(torch.isfinite(bank.ring.keys).all() & torch.isfinite(bank.ring.values).all())


def test_rows_that_are_not_written_are_not_checked():
    bank = shared_bank()
    keys, values = poisoned_rows("cpu")
    alive = torch.ones(B, N, dtype=torch.bool)
    alive[1, 0] = False                                   # the NaN row's agent is dead
    assert bank.write(keys, values, {"episode": 0, "step": 5}, mask=alive) == B * N - 1
    assert bool(torch.isfinite(bank.ring.keys).all())
    assert make_bank(mode="none").write(keys, values, {"episode": 0, "step": 0}) == 0


def test_float64_beyond_float32_range_is_refused():
    bank = make_bank()
    keys, values = random_rows(np.random.default_rng(0), B, N, DK, DV)
    keys = keys.double()
    keys[0, 1, 0] = 1e300                                 # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"keys at row \(maze, agent\) \(0, 1\)"):
        bank.write(keys, values, {"episode": 0, "step": 0})
    assert int(bank.sizes().sum()) == 0


def test_large_finite_numbers_are_stored():
    """Their sum overflows to inf, which the quick check cannot tell from a real inf."""
    bank = make_bank()
    keys, values = random_rows(np.random.default_rng(0), B, N, DK, DV)
    values[0, 0, :2] = 3e38
    assert bank.write(keys, values, {"episode": 0, "step": 0}) == B * N
    assert torch.equal(bank.ring.values[0, 0], values[0, 0])
    assert bank.read(keys, 1).mask.all()


def test_write_entries_names_the_entries_or_drops_them():
    keys, values = torch.randn(5, DK), torch.randn(5, DV)
    values[3, 1] = float("-inf")
    maze, agent = torch.tensor([0, 1, 2, 2, 1]), torch.tensor([0, 1, 0, 1, 0])
    zero, step = torch.zeros(5, dtype=torch.int64), torch.arange(5)
    bank = make_bank(mode="shared")
    with pytest.raises(ValueError, match=r"values at entry 3 \(maze 2, agent 1\)"):
        bank.write_entries(maze, agent, keys, values, zero, step)
    assert int(bank.sizes().sum()) == 0 and bank.clock == 0
    dropping = make_bank(mode="shared", non_finite="drop")
    assert dropping.write_entries(maze, agent, keys, values, zero, step) == 4
    assert dropping.sizes().tolist() == [1, 2, 1]
    assert dropping.stats()["non_finite_dropped"] == 1


@pytest.mark.parametrize("device", DEVICES)
def test_non_finite_query_raises_before_anything_is_read(device):
    bank = shared_bank(device)
    before, stats = ring_copy(bank), bank.stats()
    q = random_rows(np.random.default_rng(2), B, N, DK, DV)[0]
    q[0, 1, 2] = float("inf")
    q[2, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"queries at row \(maze, agent\) \(0, 1\), \(2, 0\); "
                                         "nothing was read"):
        bank.read(q.to(device), 4)
    assert_same_ring(bank, before)                        # no read times or counts touched
    assert bank.stats() == stats
    # A dead agent's query is not searched, so it may hold anything.
    alive = torch.ones(B, N, dtype=torch.bool)
    alive[0, 1] = alive[2, 0] = False
    recall = bank.read(q.to(device), 4, alive=alive.to(device))
    assert not recall.mask[0, 1].any() and bool(torch.isfinite(recall.scores).all())


def test_drop_count_survives_save_and_load(tmp_path):
    bank = shared_bank(non_finite="drop")
    bank.write(*poisoned_rows("cpu"), {"episode": 0, "step": 5})
    bank.save(tmp_path / "bank.npz")
    loaded = MemoryBank.load(tmp_path / "bank.npz")
    assert loaded.config.non_finite == "drop"
    assert loaded.stats()["non_finite_dropped"] == 1


def test_file_saved_before_the_drop_counter_loads(tmp_path):
    path = tmp_path / "bank.npz"
    shared_bank().save(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "stat/stat_non_finite_dropped"}
    np.savez(path, **arrays)
    assert MemoryBank.load(path).stats()["non_finite_dropped"] == 0
