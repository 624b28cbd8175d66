"""Memory content kinds: view keys, outcome-labelled entries in the collection loop, config."""
import pytest
import torch

from envs import rules
from experiments.config import ConfigError
from experiments.content import STATIC_CHANNELS, OutcomeContent, ViewKeys, make_content
from experiments.train import train
from memory import MemoryBank
from memory.outcome import OutcomeCodec
from tests.experiments.helpers import build_collector, tiny_config

OBS = (6, 5, 5)


def views(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    obs = torch.randint(0, 2, (n, *OBS), generator=g, dtype=torch.uint8)
    obs[:, rules.LANDMARK] *= torch.randint(0, 32, (n, 1, 1), generator=g, dtype=torch.uint8)
    return obs


def test_view_keys_ignore_other_agents_and_see_every_static_square():
    keys = ViewKeys(OBS, 5, key_dim=32)
    obs = views(4)
    none = torch.zeros(4, 0, keys.n_view + 5)
    base = keys.key(keys.view(obs), none)
    moved = obs.clone()
    moved[:, rules.AGENTS] = 1 - moved[:, rules.AGENTS]
    assert torch.equal(keys.key(keys.view(moved), none), base)
    assert rules.AGENTS not in STATIC_CHANNELS
    for channel in STATIC_CHANNELS:
        changed = obs.clone()
        square = changed[:, channel, 0, 0]
        changed[:, channel, 0, 0] = square % 31 + 1 if channel == rules.LANDMARK else 1 - square
        other = keys.key(keys.view(changed), none)
        assert ((other * base).sum(-1) < 0.9999).all(), channel


def test_history_tells_apart_the_same_view_reached_differently(tmp_path):
    bank = MemoryBank(mode="shared", n_mazes=1, n_agents=2, key_dim=16, value_dim=8, capacity=32)
    content = OutcomeContent(bank, OBS, 5, horizon=10, gamma=0.9, history=1)
    same = views(1).expand(1, 2, *OBS).clone()     # one maze, two agents: (B, N, ...)
    starts = torch.ones(1, 2, dtype=torch.bool)
    first = content.query(same, starts)[0]
    assert torch.equal(first[0], first[1])
    content.after_step(torch.tensor([[1, 2]]), torch.zeros(1, 2), torch.zeros(1, 2, dtype=torch.bool),
                       torch.zeros(1, 2, dtype=torch.bool), torch.ones(1, 2, dtype=torch.bool),
                       torch.zeros(1, dtype=torch.int64))
    second = content.query(same, torch.zeros(1, 2, dtype=torch.bool))[0]
    assert (second[0] @ second[1]) < 0.9999        # different previous actions
    restarted = content.query(same, torch.ones(1, 2, dtype=torch.bool))[0]
    assert torch.equal(restarted, first)             # an episode start forgets the history


def test_outcome_entries_in_the_loop_are_labelled_and_read_where_the_reader_stands(tmp_path):
    cfg, net, collector = build_collector(tmp_path, memory="solo", agent="lstm", content={"kind": "outcome"})
    bank = collector.bank
    rollout = collector.collect(60)
    n = int(bank.sizes().sum())
    assert n > 0
    codec = OutcomeCodec(5, cfg.maze.horizon)
    stores, counts = bank.ring.values.shape[0], bank.sizes()
    for s in range(stores):
        values = bank.ring.values[s, :counts[s]]
        # Every entry is an outcome entry: the agent's own write requests are not stored.
        assert torch.equal(values[:, :5].sum(-1), torch.ones(len(values)))
        assert ((values[:, 5] == 0) | (values[:, 5] == 1)).all() and (values[:, codec.width:] == 0).all()
        out = codec.decode(values)
        assert ((out.steps_left >= 1) | ~out.reached).all() and (out.steps_left <= cfg.maze.horizon).all()
        assert (bank.ring.writer[s, :counts[s]] == s % collector.N).all()   # solo: own entries only
    # Reads use the current view: a hit with score 1 was written at an identical view.
    exact = rollout.recall.mask & (rollout.recall.scores > 0.9999)
    assert exact.any()
    assert (rollout.recall.writers[rollout.recall.mask] == (torch.arange(collector.R) % collector.N)
            .view(1, -1, 1).expand_as(rollout.recall.writers)[rollout.recall.mask]).all()


def test_training_runs_with_outcome_content(tmp_path):
    cfg = tiny_config(tmp_path, memory={"content": {"kind": "outcome", "history": 1}})
    final = train(cfg)
    assert final["eval/success_rate"] >= 0.0 and final["memory/writes"] > 0


def test_bad_content_fails_clearly(tmp_path):
    with pytest.raises(ConfigError, match="memory.content.kind"):
        tiny_config(tmp_path, memory={"content": {"kind": "gossip"}})
    bank = MemoryBank(mode="solo", n_mazes=1, n_agents=1, key_dim=8, value_dim=8)
    with pytest.raises(ValueError, match=r"no option\(s\) \['depth'\]"):
        make_content({"kind": "outcome", "depth": 2}, bank, OBS, 5, 10, 0.9, 0)
    with pytest.raises(ValueError, match="takes no options"):
        make_content({"kind": "representation", "history": 1}, bank, OBS, 5, 10, 0.9, 0)
    with pytest.raises(ValueError, match="history=-1"):
        make_content({"kind": "outcome", "history": -1}, bank, OBS, 5, 10, 0.9, 0)
    small = MemoryBank(mode="solo", n_mazes=1, n_agents=1, key_dim=8, value_dim=4)
    with pytest.raises(ValueError, match="value_dim=4 cannot hold outcome labels"):
        make_content({"kind": "outcome"}, small, OBS, 5, 10, 0.9, 0)
