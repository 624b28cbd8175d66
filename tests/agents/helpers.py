"""Builders shared by the agent tests: observations, recalls, configured agents."""
from __future__ import annotations

from pathlib import Path

import torch

from agents.params import build_from_config
from memory import Recall

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "agent"
CONFIGS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
OBS_SHAPE = (6, 5, 5)


def make_obs(batch: int, seed: int = 0, obs_shape=OBS_SHAPE, high: int = 4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, (batch, *obs_shape), generator=g).to(torch.uint8)


def make_recall(batch: int, k: int, key_dim: int, value_dim: int, seed: int = 0, p_valid: float = 0.7) -> Recall:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, k, generator=g) < p_valid
    keys = torch.randn(batch, k, key_dim, generator=g) * mask.unsqueeze(-1)
    values = torch.randn(batch, k, value_dim, generator=g) * mask.unsqueeze(-1)
    scores = torch.rand(batch, k, generator=g) * mask
    ids = torch.where(mask, torch.arange(k).expand(batch, k), torch.full((batch, k), -1))
    return Recall(keys, values, scores, mask, ids, torch.where(mask, 0, -1))


def build(name: str, memory: bool = True, **overrides):
    if not memory:
        overrides.update(key_dim=0, value_dim=0)
    return build_from_config(CONFIG_DIR / f"{name}.yaml", OBS_SHAPE, 5, **overrides)


def untrained_parameters(agent, batch: int, steps: int) -> list[str]:
    """Names of `agent`'s parameters that no gradient reaches from a PPO-style loss over `steps`
    steps (so gradients cross the recurrent state and the synchronisation window)."""
    state = agent.initial_state(batch, "cpu")
    loss = 0.0
    for t in range(steps):
        out = agent(make_obs(batch, seed=t), state, make_recall(batch, 4, agent.key_dim, agent.value_dim, seed=t))
        weights = torch.randn(batch, 5, generator=torch.Generator().manual_seed(t))
        loss = loss + (torch.log_softmax(out.logits, -1) * weights).sum() + out.value.pow(2).sum()
        state = out.state
    loss.backward()
    return [n for n, p in agent.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
