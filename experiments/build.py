"""The parts of a run, made one way: env, agent, memory bank, content, collector, optimiser.

Training (`experiments/train.py`), the trainer tests and the speed benchmark call `build_run`;
evaluation makes its own env and fresh banks but joins them with `build_collector`. So what a
benchmark measures or a test checks is what a training run runs.

The order in which parts are made is part of a run's identity: the agent's weights come from
the seed, so making things in another order could change results.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from envs import BatchedMazeEnv
from experiments.config import ConfigError, TrainConfig, check_types
from experiments.content import make_content
from experiments.rollout import Collector, RunningReturnScale

ADAM_EPS = 1e-5  # PPO's usual choice, larger than torch's 1e-8: steadier steps on tiny gradients


@dataclass
class Run:
    """What one training run is made of; the collector is not started yet."""
    env: BatchedMazeEnv
    agent: torch.nn.Module
    make_bank: Callable[[int], Any]      # n_mazes -> a fresh MemoryBank (or None)
    bank: Any                            # the run's MemoryBank, or None for agents without memory
    content: Any                         # what entries say (experiments/content.py), or None
    collector: Collector
    optimizer: torch.optim.Optimizer
    sampler: torch.Generator             # action sampling
    shuffler: torch.Generator            # PPO minibatch order
    scale: RunningReturnScale | None     # reward scaling, with algo.reward_scale=return


def make_env(maze, n_mazes: int, device: torch.device) -> BatchedMazeEnv:
    # Actions come from our own sampler, so the per-step check (a host sync) is skipped.
    return BatchedMazeEnv(n_mazes, maze, device=device, validate_actions=False)


def make_agent(cfg: TrainConfig, obs_shape, n_actions: int, device: torch.device):
    """Instantiate the agent plug-in named by `agent._target_`, seeded by the run seed."""
    from hydra.utils import get_class

    spec = dict(cfg.agent)
    target = spec.pop("_target_")
    try:
        cls = get_class(target)
    except Exception as err:  # hydra raises several types for a bad path
        raise ConfigError(f"agent._target_={target!r} is not an importable class: {err}") from err
    if "seed" in inspect.signature(cls).parameters:
        spec["seed"] = cfg.seed
    check_knob_types(cls, spec)
    try:
        agent = cls(obs_shape=obs_shape, n_actions=n_actions, **spec)
    except TypeError as err:
        raise ConfigError(f"agent ({target}): {err}") from err
    agent = agent.to(device)
    if cfg.compile:
        agent.compile()     # in place: parameter names, and so checkpoints, stay the same
    return agent


def check_knob_types(cls: type, spec: dict) -> None:
    """Each agent knob holds the type its constructor declares, so `agent.d_model=64.0` or
    `agent.trunk_lr_scale=abc` names the knob before the constructor fails somewhere inside.
    Knobs the constructor does not take, and annotations this cannot resolve, are left to it."""
    try:
        params = inspect.signature(cls, eval_str=True).parameters.values()
    except Exception:  # a plug-in's annotation that does not evaluate: its constructor decides
        return
    check_types(spec, {p.name: p.annotation for p in params if p.annotation is not p.empty}, "agent.")


def bank_factory(cfg: TrainConfig, agent, n_agents: int, device: torch.device):
    """A function n_mazes -> MemoryBank (or None for agents that use no memory)."""
    if agent.key_dim == 0:
        return lambda n_mazes: None
    from memory import MemoryBank

    def make(n_mazes: int):
        try:
            return MemoryBank(mode=cfg.memory.mode, n_mazes=n_mazes, n_agents=n_agents,
                              key_dim=agent.key_dim, value_dim=agent.value_dim, device=device,
                              **cfg.memory.bank)
        except TypeError as err:
            raise ConfigError(f"memory.bank: {err}") from err
    return make


HEADS = ("actor.", "critic.", "prior.")   # the memory prior maps entries to outputs: a head too


def make_optimizer(cfg: TrainConfig, agent) -> torch.optim.Optimizer:
    """Adam; with a trunk scale != 1 in two groups, the heads (actor, critic, memory prior) at
    the learning rate and every other parameter (the trunk) at the rate times the scale. The
    scale is `algo.trunk_lr_scale`, or the agent's own `trunk_lr_scale` where that is null."""
    lr, scale, source = cfg.algo.learning_rate, cfg.algo.trunk_lr_scale, "algo.trunk_lr_scale"
    if scale is None:
        scale, source = getattr(agent, "trunk_lr_scale", 1.0), "agent.trunk_lr_scale"
    if scale == 1.0:
        return torch.optim.Adam(agent.parameters(), lr=lr, eps=ADAM_EPS)
    named = list(agent.named_parameters())
    heads = [p for n, p in named if n.startswith(HEADS)]
    trunk = [p for n, p in named if not n.startswith(HEADS)]
    if not heads or not trunk:
        raise ConfigError(f"{source}={scale} needs parameters named actor.* / critic.* (the "
                          f"heads) and others (the trunk); {type(agent).__name__} has "
                          f"{len(heads)} head and {len(trunk)} trunk parameters")
    return torch.optim.Adam([{"params": heads, "lr": lr, "lr_scale": 1.0},
                             {"params": trunk, "lr": lr * scale, "lr_scale": scale}], lr=lr, eps=ADAM_EPS)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the base rate; a group with an `lr_scale` runs at that multiple of it."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def build_collector(cfg: TrainConfig, env, agent, bank, sampler: torch.Generator,
                    scale: RunningReturnScale | None = None) -> Collector:
    """A Collector over `env` and `bank` that writes the run's content kind."""
    return Collector(env, agent, bank, cfg.memory.k, sampler, scale,
                     content_for(cfg, bank, agent, env.n_actions))


def build_run(cfg: TrainConfig, device: torch.device, load_bank: Callable[[], Any] | None = None) -> Run:
    """Every part of a training run of `cfg` on `device`. `load_bank` (resuming) returns the
    checkpoint's bank, used instead of a fresh one before the content and collector hold it."""
    env = make_env(cfg.maze, cfg.n_mazes, device)
    agent = make_agent(cfg, env.observation_shape, env.n_actions, device)
    make_bank = bank_factory(cfg, agent, env.n_agents, device)
    uses_bank = agent.key_dim > 0
    bank = (load_bank() if load_bank is not None else make_bank(cfg.n_mazes)) if uses_bank else None
    optimizer = make_optimizer(cfg, agent)
    sampler = torch.Generator(device=device).manual_seed(cfg.seed)
    shuffler = torch.Generator().manual_seed(cfg.seed + 1)
    scale = (RunningReturnScale(env.n_mazes * env.n_agents, cfg.algo.gamma, device)
             if cfg.algo.reward_scale == "return" else None)
    collector = build_collector(cfg, env, agent, bank, sampler, scale)
    return Run(env=env, agent=agent, make_bank=make_bank, bank=bank, content=collector.content,
               collector=collector, optimizer=optimizer, sampler=sampler, shuffler=shuffler, scale=scale)


def content_for(cfg, bank, agent, n_actions: int):
    """The run's content kind for a `TrainConfig`, or None without memory; a bad
    `memory.content` raises the config error that names it."""
    if bank is None or agent.key_dim == 0:
        return None
    try:
        return make_content(cfg.memory.content, bank, cfg.maze.obs_shape, n_actions, cfg.maze.horizon,
                            cfg.algo.gamma, cfg.seed)
    except ValueError as err:
        raise ConfigError(f"memory.content: {err}") from err
