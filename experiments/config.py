"""The training run's configuration: dataclasses that validate every value at start-up.

Hydra composes YAML from configs/ (which only chooses and overrides); `TrainConfig.from_dict`
turns the composed mapping into these dataclasses, so a bad value fails in the first
second with the key, the value and what is allowed. The env section is checked by
`envs.MazeConfig`, the memory section by `memory.MemoryBank`'s own checks and the agent
section by the agent's constructor (agents are plug-ins: `_target_` plus their knobs).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from envs import MazeConfig
from experiments.content import CONTENT_KINDS

MEMORY_MODES = ("none", "solo", "shared")


class ConfigError(ValueError):
    """A configuration value is out of range; the message names key, value and what is allowed."""


def _check(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


@dataclass
class PPOConfig:
    """PPO with recurrent state (CleanRL's LSTM PPO, shared by all agents).

    num_steps: environment steps per rollout (per maze).
    num_minibatches: minibatches per epoch; each holds whole sequences of (maze, agent) rows.
    update_epochs: passes over each rollout.
    learning_rate, anneal_lr: Adam step size, linearly annealed to 0 when anneal_lr.
    gamma, gae_lambda: discount and GAE parameter.
    clip_coef: PPO ratio clip; clip_vloss clips the value update the same way.
    ent_coef, vf_coef: entropy bonus and value-loss weights.
    max_grad_norm: global gradient-norm clip.
    norm_adv: normalise advantages per minibatch.
    target_kl: stop the epoch loop early when approx KL exceeds it (None: never).
    reward_scale: "none", or "return" to divide rewards by a running std of discounted returns.
    """

    num_steps: int = 100
    num_minibatches: int = 2
    update_epochs: int = 4
    learning_rate: float = 1e-3
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_coef: float = 0.1
    clip_vloss: bool = False
    ent_coef: float = 0.01
    vf_coef: float = 0.25
    max_grad_norm: float = 0.5
    norm_adv: bool = True
    target_kl: float | None = None
    reward_scale: str = "return"

    def __post_init__(self):
        _check(self.num_steps >= 1, "algo.num_steps", self.num_steps, ">= 1")
        _check(self.num_minibatches >= 1, "algo.num_minibatches", self.num_minibatches, ">= 1")
        _check(self.update_epochs >= 1, "algo.update_epochs", self.update_epochs, ">= 1")
        _check(self.learning_rate > 0, "algo.learning_rate", self.learning_rate, "> 0")
        _check(0 <= self.gamma <= 1, "algo.gamma", self.gamma, "in [0, 1]")
        _check(0 <= self.gae_lambda <= 1, "algo.gae_lambda", self.gae_lambda, "in [0, 1]")
        _check(self.clip_coef > 0, "algo.clip_coef", self.clip_coef, "> 0")
        _check(self.ent_coef >= 0, "algo.ent_coef", self.ent_coef, ">= 0")
        _check(self.vf_coef >= 0, "algo.vf_coef", self.vf_coef, ">= 0")
        _check(self.max_grad_norm > 0, "algo.max_grad_norm", self.max_grad_norm, "> 0")
        _check(self.target_kl is None or self.target_kl > 0, "algo.target_kl", self.target_kl, "> 0 or null")
        _check(self.reward_scale in ("none", "return"), "algo.reward_scale", self.reward_scale,
               "one of ['none', 'return']")


@dataclass
class MemorySection:
    """How agents use long-term memory in the loop (the bank's own knobs are in `bank`).

    mode: none | solo | shared (see memory.MemoryBank).
    k: entries retrieved per read.
    bank: further MemoryBank arguments (scope, capacity, index, eviction, ...).
    content: what entries say: `kind` (representation | outcome, experiments/content.py)
        and its options (outcome: `history`).
    """

    mode: str = "shared"
    k: int = 8
    bank: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=lambda: {"kind": "representation"})

    def __post_init__(self):
        _check(self.mode in MEMORY_MODES, "memory.mode", self.mode, f"one of {list(MEMORY_MODES)}")
        _check(1 <= self.k <= 2048, "memory.k", self.k, "in [1, 2048]")
        kind = dict(self.content or {}).get("kind", "representation")
        _check(kind in CONTENT_KINDS, "memory.content.kind", kind, f"one of {list(CONTENT_KINDS)}")


@dataclass
class EvalSection:
    """Periodic evaluation on held-out layouts.

    every: evaluate every this many updates (0: only at the end).
    episodes: layouts evaluated (one maze each, all agents).
    visits: the "second visit" protocol: the same layout is replayed this many
        episodes in a row and success and steps are logged per visit index.
    layout_seed: seed of the held-out layout stream (never used for training layouts,
        which are drawn from the run seed).
    greedy: act with the argmax action (True) or sample (False); both are logged
        when `both` is True.
    newcomer: after the visits, a new generation (same weights, cleared recurrent state,
        none of whom wrote anything) plays the layout once more: private stores are
        cleared for it, stores shared by several agents are kept (experiments/evaluate.py).
    """

    every: int = 10
    episodes: int = 16
    visits: int = 3
    layout_seed: int = 1_000_003
    greedy: bool = True
    both: bool = False
    newcomer: bool = False

    def __post_init__(self):
        _check(self.every >= 0, "eval.every", self.every, ">= 0")
        _check(self.episodes >= 1, "eval.episodes", self.episodes, ">= 1")
        _check(self.visits >= 1, "eval.visits", self.visits, ">= 1")


@dataclass
class LogSection:
    """TensorBoard output.

    images_every: updates between maze/trajectory/heat-map/memory images (0: never).
    video_every: updates between episode GIFs of maze 0 (run_dir/videos/, plus a filmstrip
        image in TensorBoard; 0: never).
    checkpoint_every: updates between checkpoints (0: only at the end).
    progress: show a progress bar on the console.
    episode_window: `charts/*` average the last this many finished agent-episodes.
    """

    images_every: int = 25
    video_every: int = 0
    checkpoint_every: int = 10
    progress: bool = True
    episode_window: int = 256

    def __post_init__(self):
        for name in ("images_every", "video_every", "checkpoint_every"):
            _check(getattr(self, name) >= 0, f"log.{name}", getattr(self, name), ">= 0")
        _check(self.episode_window >= 1, "log.episode_window", self.episode_window, ">= 1")


@dataclass
class TrainConfig:
    """Everything one training run needs.

    seed: seeds layouts, weights, sampling (one generator per use, all from this).
    device: "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
    total_steps: training budget in agent-steps (mazes x agents x steps).
    n_mazes: mazes stepped in parallel (B).
    torch_threads: CPU threads for torch (0: torch's default).
    resume: continue from run_dir/checkpoint.pt if it exists.
    """

    env: dict[str, Any]
    agent: dict[str, Any]
    memory: MemorySection = field(default_factory=MemorySection)
    algo: PPOConfig = field(default_factory=PPOConfig)
    eval: EvalSection = field(default_factory=EvalSection)
    log: LogSection = field(default_factory=LogSection)
    seed: int = 0
    device: str = "auto"
    total_steps: int = 200_000
    n_mazes: int = 8
    torch_threads: int = 0
    resume: bool = False
    run_dir: str = "runs/default"

    def __post_init__(self):
        _check(self.total_steps >= 1, "total_steps", self.total_steps, ">= 1")
        _check(self.n_mazes >= 1, "n_mazes", self.n_mazes, ">= 1")
        _check(self.torch_threads >= 0, "torch_threads", self.torch_threads, ">= 0 (0 = torch's default)")
        _check(self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda"),
               "device", self.device, "'auto', 'cpu' or 'cuda[:i]'")
        _check(isinstance(self.agent, dict) and "_target_" in self.agent, "agent", self.agent,
               "a mapping with a `_target_` naming the agent class")
        try:
            self.maze = MazeConfig.from_kwargs(**dict(self.env))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"env: {err}") from err

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TrainConfig":
        """Build and validate from a plain (resolved) mapping, e.g. a composed Hydra config."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"unknown top-level key(s) {unknown}; allowed: {sorted(known)}")
        sections = {"memory": MemorySection, "algo": PPOConfig, "eval": EvalSection, "log": LogSection}
        kwargs = dict(raw)
        for name, section in sections.items():
            if name in kwargs:
                value = kwargs[name] or {}
                allowed = {f.name for f in fields(section)}
                bad = sorted(set(value) - allowed)
                if bad:
                    raise ConfigError(f"unknown key(s) {[f'{name}.{b}' for b in bad]}; allowed: {sorted(allowed)}")
                kwargs[name] = section(**value)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (asdict(v) if hasattr(v, "__dataclass_fields__") else v)
                for f in fields(self) for v in [getattr(self, f.name)]}

    @property
    def steps_per_update(self) -> int:
        """Agent-steps collected per rollout."""
        return self.n_mazes * self.maze.n_agents * self.algo.num_steps

    @property
    def num_updates(self) -> int:
        return max(1, self.total_steps // self.steps_per_update)
