"""The training run's configuration: dataclasses that validate every value at start-up.

Hydra composes YAML from configs/ (which only chooses and overrides) on top of
`TrainSchema`, registered with Hydra's ConfigStore, so a value of the wrong type (2.5 for an
int, "maybe" for a bool) fails during composition. `TrainConfig.from_dict` then turns the
composed mapping into these dataclasses, which check types again (for mappings that did not
come through Hydra) and every range, so a bad value fails in the first second with the key,
the value and what is allowed. The env section is checked by `envs.MazeConfig`, the memory
section by `memory.MemoryBank`'s own checks (run on a one-store stand-in) and the agent section
by the agent's constructor (agents are plug-ins: `_target_` plus their knobs).
"""
from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from typing import Any, get_type_hints

from envs import MazeConfig
from envs.config import type_problem
from experiments.content import CONTENT_KINDS
from memory.checks import MAX_K
from memory.mapping import MAPPINGS


class ConfigError(ValueError):
    """A configuration value is out of range; the message names key, value and what is allowed."""


def _check(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


def check_types(values: Mapping[str, Any], kinds: Mapping[str, Any], prefix: str) -> None:
    """Each value whose name has a declared kind (an annotation) holds that kind; ConfigError
    names the first that does not, as `prefix + name`."""
    for name, value in values.items():
        if name in kinds:
            expected = type_problem(value, kinds[name])
            _check(expected is None, prefix + name, value, f"must be {expected}")


def _check_types(section, prefix: str) -> None:
    """Each field of `section` holds its declared type; runs before any range check."""
    check_types({f.name: getattr(section, f.name) for f in fields(section)},
                get_type_hints(type(section)), prefix)


@dataclass
class PPOConfig:
    """PPO with recurrent state (CleanRL's LSTM PPO, shared by all agents).

    The defaults started from the CTM reference RL setup (CleanRL-style PPO: lr 1e-4 with 256
    envs x 50 steps in its MiniGrid scripts, lr 5e-4 in its train.py and for Acrobot). Those
    learn far too slowly on CPU budgets here, so epochs, minibatches, learning rate and entropy
    were re-tuned (measured: benchmarks/learning.py). clip_vloss is off: clipping the value
    update at clip_coef kept the critic's explained variance near 0 on CPU budgets, for every
    agent we measured. configs/algo/ppo.yaml sets nothing; presets override.

    num_steps: environment steps per rollout (per maze).
    num_minibatches: minibatches per epoch; each holds whole sequences of (maze, agent) rows.
    update_epochs: passes over each rollout.
    learning_rate, anneal_lr: Adam step size, linearly annealed to 0 when anneal_lr.
    trunk_lr_scale: every parameter outside the actor and critic heads learns at learning_rate
        times this (1: one rate for all); None: the agent's own `trunk_lr_scale` (1 unless its
        config sets it: ctm_small's trunk learns at 0.25).
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
    trunk_lr_scale: float | None = None
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
        _check_types(self, "algo.")
        _check(self.num_steps >= 1, "algo.num_steps", self.num_steps, ">= 1")
        _check(self.num_minibatches >= 1, "algo.num_minibatches", self.num_minibatches, ">= 1")
        _check(self.update_epochs >= 1, "algo.update_epochs", self.update_epochs, ">= 1")
        _check(self.learning_rate > 0, "algo.learning_rate", self.learning_rate, "> 0")
        _check(self.trunk_lr_scale is None or self.trunk_lr_scale > 0, "algo.trunk_lr_scale",
               self.trunk_lr_scale, "> 0 or null")
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

    mode: a registered sharing pattern (memory/mapping.py): none | solo | shared, or one
        registered by a module named in `plugins`.
    plugins: modules imported before `mode` is checked, e.g. [my_package.my_mappings]; each
        registers its patterns with `memory.mapping.register_mapping` when imported. Being
        part of the config, they are imported in every process that builds it (multirun
        workers included).
    k: entries retrieved per read.
    bank: further MemoryBank arguments (scope, capacity, index, eviction, ...).
    content: what entries say: `kind` (representation | outcome, experiments/content.py)
        and its options (outcome: `history`). configs/train.yaml chooses `outcome`; a config
        built in Python without the key gets `representation`, which needs nothing else.
    """

    mode: str = "shared"
    plugins: list[str] = field(default_factory=list)
    k: int = 8
    bank: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=lambda: {"kind": "representation"})

    def __post_init__(self):
        _check_types(self, "memory.")
        _import_plugins(self.plugins)
        _check(self.mode in MAPPINGS, "memory.mode", self.mode,
               f"one of {list(MAPPINGS)} (more with memory.plugins, see memory/mapping.py)")
        _check(1 <= self.k <= MAX_K, "memory.k", self.k, f"in [1, {MAX_K}]")
        kind = dict(self.content or {}).get("kind", "representation")
        _check(kind in CONTENT_KINDS, "memory.content.kind", kind, f"one of {list(CONTENT_KINDS)}")
        _check_bank_options(self.mode, self.bank)


def _import_plugins(modules) -> None:
    """Import each module of `memory.plugins`, so the patterns it registers are known."""
    _check(isinstance(modules, (list, tuple)) and all(isinstance(m, str) for m in modules),
           "memory.plugins", modules, "a list of module names")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"memory.plugins: cannot import {name!r}: {err}") from err


def _check_bank_options(mode: str, bank: dict[str, Any]) -> None:
    """Run the bank's own checks now, on a one-store bank of 1-d keys: option names and types,
    and index parameters against the capacity (an IVF store needs nlist <= capacity)."""
    from memory import MemoryBank

    try:
        MemoryBank(mode=mode, n_mazes=1, n_agents=1, key_dim=1, value_dim=1, **bank)
    except (TypeError, ValueError) as err:
        where = f"index={bank.get('index', 'flat')!r}, capacity={bank.get('capacity', 'default')}"
        raise ConfigError(f"memory.bank ({where}): {err}") from err


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
    random_writers: a control for the newcomers, run once, at the end: the same evaluation with
        the visits played by a uniformly random policy, whose episodes fill the store, and the
        newcomers by the agent; logged under eval_random_writers/ (needs `newcomer`).
    """

    every: int = 10
    episodes: int = 16
    visits: int = 3
    layout_seed: int = 1_000_003
    greedy: bool = True
    both: bool = False
    newcomer: bool = False
    random_writers: bool = False

    def __post_init__(self):
        _check_types(self, "eval.")
        _check(self.newcomer or not self.random_writers, "eval.random_writers", self.random_writers,
               "false unless eval.newcomer is true (the newcomers are the agent's only plays)")
        _check(self.every >= 0, "eval.every", self.every, ">= 0")
        _check(self.episodes >= 1, "eval.episodes", self.episodes, ">= 1")
        _check(self.visits >= 1, "eval.visits", self.visits, ">= 1")
        _check(self.layout_seed >= 0, "eval.layout_seed", self.layout_seed, ">= 0")


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
        _check_types(self, "log.")
        for name in ("images_every", "video_every", "checkpoint_every"):
            _check(getattr(self, name) >= 0, f"log.{name}", getattr(self, name), ">= 0")
        _check(self.episode_window >= 1, "log.episode_window", self.episode_window, ">= 1")


@dataclass
class TrainConfig:
    """Everything one training run needs.

    seed: seeds layouts, weights, sampling (one generator per use, all from this); >= 0.
    device: "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
    total_steps: training budget in agent-steps (mazes x agents x steps).
    n_mazes: mazes stepped in parallel (B).
    torch_threads: CPU threads for torch; 0: automatic, see `resolve_torch_threads` (the
        value a run used is written to its config.yaml).
    compile: run the agent's steps through torch.compile: fused kernels and fewer operator
        calls, for the acting pass and the PPO update alike (measured speed-ups in
        docs/speed.md). Each new input shape or grad mode waits for a compilation first, and
        the rounding differs from eager mode, so a compiled run is not bit-equal to the same
        run uncompiled. Off by default: the documented CPU results are eager.
    resume: continue from run_dir's latest checkpoint (experiments/resume.py: what may differ).
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
    compile: bool = False
    resume: bool = False
    run_dir: str = "runs/default"

    def __post_init__(self):
        _check_types(self, "")
        _check(self.seed >= 0, "seed", self.seed, ">= 0 (layout streams are seeded with it)")
        _check(self.total_steps >= 1, "total_steps", self.total_steps, ">= 1")
        _check(self.n_mazes >= 1, "n_mazes", self.n_mazes, ">= 1")
        _check(self.torch_threads >= 0, "torch_threads", self.torch_threads, ">= 0 (0 = automatic)")
        _check(self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda"),
               "device", self.device, "'auto', 'cpu' or 'cuda[:i]'")
        _check(isinstance(self.agent, dict) and "_target_" in self.agent, "agent", self.agent,
               "a mapping with a `_target_` naming the agent class")
        try:
            self.maze = MazeConfig.from_kwargs(**dict(self.env))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"env: {err}") from err
        # ppo.update splits the rollout's rows, one per (maze, agent), into minibatches.
        rows = self.n_mazes * self.maze.n_agents
        _check(self.algo.num_minibatches <= rows, "algo.num_minibatches", self.algo.num_minibatches,
               f"<= the rows of a rollout, n_mazes x env.n_agents = {self.n_mazes} x "
               f"{self.maze.n_agents} = {rows} (each minibatch holds whole rows)")

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


# --- torch threads -------------------------------------------------------------------------

def available_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the OS has one (taskset,
    a SLURM allocation, a container's cpuset), else every core of the machine."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def runs_at_once(launcher: Mapping[str, Any], cores: int) -> int:
    """How many runs a Hydra multirun `launcher` config starts side by side on this machine."""
    if "n_jobs" in launcher:  # joblib: n_jobs processes; -1 is one per core, -2 all but one, ...
        n_jobs = launcher["n_jobs"] or 1
        return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
    if str(launcher.get("_target_", "")).endswith("LocalLauncher"):  # submitit's local executor
        return int(launcher.get("array_parallelism") or 1)
    return 1  # one at a time, or a cluster job on cores of its own (seen by available_cores)


def default_torch_threads(cores: int, runs: int) -> int:
    """Threads per run when `runs` runs share `cores` cores: one core is left for everything
    else. Torch's threads meet at a barrier after every operation, so with the small tensors
    of these agents one busy core stalls them all (2 cores, one of them busy elsewhere: the
    smoke preset took 10 s with 1 thread and over 6 minutes with 2)."""
    return max(1, (cores - 1) // max(1, runs))


def resolve_torch_threads(requested: int) -> int:
    """The one place `torch_threads` is resolved: a positive value is used as given; 0 means
    `default_torch_threads` of this process's cores and the runs its Hydra launcher starts at
    once (1 outside a multirun)."""
    if requested > 0:
        return requested
    cores = available_cores()
    return default_torch_threads(cores, runs_at_once(_hydra_launcher(), cores))


def _hydra_launcher() -> Mapping[str, Any]:
    """The launcher config of the Hydra multirun this process is a job of ({} otherwise)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return {}
    hydra_cfg = HydraConfig.get()
    return hydra_cfg.launcher if hydra_cfg.mode == RunMode.MULTIRUN else {}


# --- the schema Hydra composes onto --------------------------------------------------------

def _default_of(f: dataclasses.Field):
    """A fresh field with `f`'s default; a required field becomes OmegaConf's MISSING."""
    from omegaconf import MISSING

    if f.default_factory is not dataclasses.MISSING:
        return field(default_factory=f.default_factory)
    return field(default=MISSING if f.default is dataclasses.MISSING else f.default)


def _schema(cls: type, name: str, **retyped: tuple[type, dataclasses.Field]) -> type:
    """A plain dataclass with `cls`'s fields, types and defaults (`retyped` replaces some)."""
    hints = get_type_hints(cls)
    specs = [(f.name, *retyped.get(f.name, (hints[f.name], _default_of(f)))) for f in fields(cls)]
    return make_dataclass(name, specs)


# Every MazeConfig field with its default, so `env.<any field>=...` is type-checked and needs
# no `+`; the defaults stay in MazeConfig alone.
MazeSchema = _schema(MazeConfig, "MazeSchema")
TrainSchema = _schema(TrainConfig, "TrainSchema", env=(MazeSchema, field(default_factory=MazeSchema)))


def register_schema() -> None:
    """Store `TrainSchema` as `train_schema`, the first entry of configs/train.yaml's defaults,
    and each agent class's constructor defaults as `agent_defaults/<class name>`, where the
    agent YAMLs start from (agents/params.py)."""
    from hydra.core.config_store import ConfigStore

    from agents.params import agent_classes, constructor_defaults

    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainSchema)
    for name, cls in agent_classes().items():
        store.store(group="agent_defaults", name=name, node=constructor_defaults(cls))


register_schema()
