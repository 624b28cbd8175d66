"""Outcome-labelled entries: labels against hand-computed values, flat writes, what readers see."""
import pytest
import torch

from memory import MemoryBank
from memory.hindsight import HindsightWriter
from memory.outcome import OutcomeCodec

A, H, GAMMA = 5, 10, 0.9


def bank_of(mode="solo", n_mazes=1, n_agents=2, **kw):
    base = dict(mode=mode, scope="lifetime", n_mazes=n_mazes, n_agents=n_agents, key_dim=4,
                value_dim=8, capacity=64)
    base.update(kw)
    return MemoryBank(**base)


def one_hot_key(i: int, rows: int = 2) -> torch.Tensor:
    """The same distinct key for every row: key i is the i-th basis vector (4 dims)."""
    return torch.eye(4)[i % 4].expand(rows, 4).clone()


def play(writer, steps):
    """steps: list of (actions, rewards, alive, reached, ended) per step, each a list over the
    agents of one maze."""
    written = []
    for t, per_agent in enumerate(steps):
        action, reward, alive, reached, ended = (torch.tensor(x).view(1, 2) for x in per_agent)
        written.append(writer.record(one_hot_key(t).view(1, 2, 4), action, reward, alive, reached, ended,
                                     torch.zeros(1, dtype=torch.int64)))
    return written


def stored(bank, store):
    """Entries of `store` in write order: (step, writer, decoded outcome)."""
    n = int(bank.sizes()[store])
    order = torch.argsort(bank.ring.entry_id[store, :n])
    codec = OutcomeCodec(A, H)
    out = codec.decode(bank.ring.values[store, :n][order])
    return bank.ring.step[store, :n][order], bank.ring.writer[store, :n][order], out


def test_codec_round_trip_and_width():
    codec = OutcomeCodec(A, H)
    action = torch.tensor([0, 3, 4])
    reached = torch.tensor([True, False, True])
    values = codec.encode(action, reached, torch.tensor([7, 3, 1]), torch.tensor([0.5, 0.0, 0.9]), 12)
    out = codec.decode(values)
    assert out.action.tolist() == [0, 3, 4]
    assert out.reached.tolist() == [True, False, True]
    assert out.steps_left.tolist() == [7, -1, 1]
    assert torch.allclose(out.return_to_go, torch.tensor([0.5, 0.0, 0.9]))
    assert values[:, codec.width:].abs().sum() == 0
    assert codec.remaining(values)[1] == float("inf")
    with pytest.raises(ValueError, match="value_dim=7 cannot hold outcome labels"):
        codec.encode(action, reached, torch.tensor([1, 1, 1]), torch.zeros(3), 7)
    with pytest.raises(ValueError, match="horizon=0"):
        OutcomeCodec(A, 0)


def test_labels_equal_hand_computed_values():
    """Row 0 reaches the goal at its 3rd action (reward 1 then); row 1 is truncated after 4."""
    bank = bank_of()
    writer = HindsightWriter(bank, OutcomeCodec(A, H), GAMMA)
    written = play(writer, [
        ([1, 2], [0.0, 0.0], [True, True], [False, False], [False, False]),
        ([2, 2], [0.0, 0.0], [True, True], [False, False], [False, False]),
        ([3, 4], [1.0, 0.0], [True, True], [True, False], [True, False]),
        ([0, 1], [0.0, 0.0], [False, True], [False, False], [False, True]),
    ])
    # Nothing is written before a writer's episode ends; then all of its steps at once.
    assert written == [0, 0, 3, 4]
    step, writer_id, out = stored(bank, 0)                  # solo: store 0 is row 0's
    assert step.tolist() == [0, 1, 2] and writer_id.tolist() == [0, 0, 0]
    assert out.action.tolist() == [1, 2, 3]
    assert out.reached.tolist() == [True, True, True]
    assert out.steps_left.tolist() == [3, 2, 1]
    assert torch.allclose(out.return_to_go, torch.tensor([GAMMA**2, GAMMA, 1.0]))
    step, writer_id, out = stored(bank, 1)
    assert step.tolist() == [0, 1, 2, 3] and writer_id.tolist() == [1, 1, 1, 1]
    assert out.action.tolist() == [2, 2, 4, 1]
    assert out.reached.tolist() == [False] * 4 and out.steps_left.tolist() == [-1] * 4
    assert out.return_to_go.abs().sum() == 0
    # Keys are the ones recorded at each step (row 0: steps 0..2).
    assert torch.equal(bank.ring.keys[0, :3], torch.eye(4)[:3])


def test_a_new_episode_starts_a_new_buffer():
    bank = bank_of(n_agents=2)
    writer = HindsightWriter(bank, OutcomeCodec(A, H), GAMMA)
    play(writer, [([1, 1], [1.0, 0.0], [True, True], [True, False], [True, False])] * 2)
    step, _, out = stored(bank, 0)
    assert step.tolist() == [0, 0] and out.steps_left.tolist() == [1, 1]


def test_solo_readers_never_see_another_writers_labels_shared_readers_do():
    steps = [([1, 2], [1.0, 1.0], [True, True], [True, True], [True, True])]
    for mode, expected in (("solo", {0: {0}, 1: {1}}), ("shared", {0: {0, 1}, 1: {0, 1}})):
        bank = bank_of(mode)
        play(HindsightWriter(bank, OutcomeCodec(A, H), GAMMA), steps)
        recall = bank.read(one_hot_key(0).view(1, 2, 4), k=4)
        for agent, writers in expected.items():
            got = recall.writers[0, agent][recall.mask[0, agent]]
            assert set(got.tolist()) == writers, mode
            actions = OutcomeCodec(A, H).decode(recall.values[0, agent][recall.mask[0, agent]]).action
            assert set(actions.tolist()) == {1 + w for w in writers}, mode


def test_persistence_keeps_the_labels(tmp_path):
    bank = bank_of("shared")
    play(HindsightWriter(bank, OutcomeCodec(A, H), GAMMA),
         [([3, 4], [0.0, 0.0], [True, True], [False, False], [False, False]),
          ([2, 1], [1.0, 0.0], [True, True], [True, False], [True, True])])
    bank.save(tmp_path / "bank.npz")
    loaded = MemoryBank.load(tmp_path / "bank.npz")
    a, b = stored(bank, 0), stored(loaded, 0)
    for x, y in zip(a[:2], b[:2]):
        assert torch.equal(x, y)
    for field in ("action", "reached", "steps_left", "return_to_go"):
        assert torch.equal(getattr(a[2], field), getattr(b[2], field)), field
    assert b[2].steps_left.tolist() == [2, 1, -1, -1]


def test_writer_checks_its_inputs():
    bank = bank_of()
    with pytest.raises(ValueError, match="value_dim=4 cannot hold outcome labels"):
        HindsightWriter(bank_of(value_dim=4), OutcomeCodec(A, H), GAMMA)
    with pytest.raises(ValueError, match="gamma=0"):
        HindsightWriter(bank, OutcomeCodec(A, H), 0.0)
    writer = HindsightWriter(bank, OutcomeCodec(A, 2), GAMMA)
    never_ends = [([1, 1], [0.0, 0.0], [True, True], [False, False], [False, False])] * 3
    with pytest.raises(ValueError, match="ran past horizon=2"):
        play(writer, never_ends)


def test_write_entries_matches_write_and_applies_the_policy():
    keys = torch.randn(2, 3, 4)
    values = torch.randn(2, 3, 8)
    a = bank_of("solo", n_mazes=2, n_agents=3, write_policy="every_k", write_every=2)
    b = bank_of("solo", n_mazes=2, n_agents=3, write_policy="every_k", write_every=2)
    step = torch.tensor([[0, 1, 2], [3, 4, 5]])
    a.write(keys, values, {"episode": 7, "step": step})
    maze = torch.arange(2).repeat_interleave(3)
    agent = torch.arange(3).repeat(2)
    n = b.write_entries(maze, agent, keys.view(6, 4), values.view(6, 8), torch.full((6,), 7), step.flatten())
    assert n == 3                                            # steps 0, 2, 4
    for name, t in a.ring.state().items():
        assert torch.equal(t, getattr(b.ring, name)), name


@pytest.mark.parametrize("change, message", [
    (dict(maze=torch.tensor([2])), "maze index 2 is outside"),
    (dict(agent=torch.tensor([-1])), "agent index -1 is outside"),
    (dict(step=torch.tensor([0.5])), "step has dtype"),
    (dict(keys=torch.zeros(1, 3)), "keys has shape"),
    (dict(values=torch.zeros(2, 8)), "values has shape"),
])
def test_write_entries_rejects_bad_input(change, message):
    bank = bank_of(n_mazes=2)
    args = dict(maze=torch.tensor([0]), agent=torch.tensor([1]), keys=torch.ones(1, 4), values=torch.ones(1, 8),
                episode=torch.tensor([0]), step=torch.tensor([0]))
    args.update(change)
    with pytest.raises((ValueError, TypeError), match=message):
        bank.write_entries(**args)
    assert int(bank.sizes().sum()) == 0


def test_private_stores_are_the_single_reader_ones():
    solo = bank_of("solo", n_mazes=2, n_agents=2)
    assert solo.private_stores().tolist() == [True] * 4
    assert solo.private_stores(torch.tensor([False, True])).tolist() == [False, False, True, True]
    shared = bank_of("shared", n_mazes=2, n_agents=2)
    assert shared.private_stores().tolist() == [False, False]
    assert bank_of("none").private_stores().numel() == 0
    # clear(stores) empties exactly those
    solo.write(torch.ones(2, 2, 4), torch.ones(2, 2, 8), {"episode": 0, "step": 0})
    solo.clear(torch.tensor([False, True, False, True]))
    assert solo.sizes().tolist() == [1, 0, 1, 0]
