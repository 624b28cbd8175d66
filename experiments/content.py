"""What memory entries say: named, pluggable content kinds (the `content` config group).

    representation  each step, the agent's own write request: keys from its MemoryIO,
                    values a fixed projection of its representation (agents/memory_io.py).
                    Reads use the query the agent made at the previous step.
    outcome         hindsight labels: an entry for every step an agent acted, keyed by the
                    view it acted on (and, with `history` > 0, the views and actions before
                    it), valued by what followed: the action, whether and in how many steps
                    the goal was reached, the return (memory/outcome.py). Entries are written
                    when the writer's episode ends (memory/hindsight.py). Reads use the key of
                    the current view, so a reader finds what was done where it stands.

A content kind is a subclass of `Content`; `register_content` adds one under a name the
config can select. It speaks the bank's layout: per-row tensors are (maze, agent)-shaped,
(B, N, ...); only the agent's output `out` comes in the agent's rows (R = B * N).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from envs.rules import AGENTS, BASE_CHANNELS, LANDMARK
from memory import MemoryBank
from memory.hindsight import HindsightWriter
from memory.outcome import OutcomeCodec

# Channels of the window that depend only on the layout: another agent in view, or the
# optional position planes, would make the same place look different.
STATIC_CHANNELS = tuple(i for i in range(len(BASE_CHANNELS)) if i != AGENTS)
BINARY_CHANNELS = tuple(i for i in STATIC_CHANNELS if i != LANDMARK)
MAX_LANDMARK_ID = 31


class ViewKeys:
    """Keys from the static squares of the view and, with `history` = h > 0, the previous h
    views and actions: a fixed random projection (seeded, never trained), L2-normalised.
    The same inputs give the same key bit for bit, so "the same view" is a score of 1.
    Leading dims `L` are any batch: (R,) rows or (B, N)."""

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int,
                 history: int = 0, seed: int = 0, device="cpu"):
        if isinstance(history, bool) or not isinstance(history, int) or history < 0:
            raise ValueError(f"content history={history!r} must be an int >= 0")
        _, V, _ = obs_shape
        self.history, self.n_actions = history, n_actions
        self.n_view = (len(BINARY_CHANNELS) + MAX_LANDMARK_ID) * V * V
        n_in = self.n_view + history * (self.n_view + n_actions) + 1
        g = torch.Generator().manual_seed(seed)
        self.weight = (torch.randn(key_dim, n_in, generator=g) / n_in ** 0.5).to(device)

    def view(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (*L, C, V, V) uint8 -> static view features (*L, n_view) float32. Landmark ids
        are one-hot planes: ids 1 and 2 are as different as a landmark and none."""
        binary = obs[..., list(BINARY_CHANNELS), :, :].float()
        ids = F.one_hot(obs[..., LANDMARK, :, :].long(), MAX_LANDMARK_ID + 1)[..., 1:]  # (*L, V, V, 31)
        return torch.cat([binary.flatten(-3), ids.movedim(-1, -3).float().flatten(-3)], dim=-1)

    def key(self, view: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        """view (*L, n_view), past (*L, h, n_view + A) -> keys (*L, Dk)."""
        x = torch.cat([view, past.flatten(-2), torch.ones_like(view[..., :1])], dim=-1)
        return F.normalize(x @ self.weight.T, dim=-1)


class Content:
    """What a content kind does, called by the collector; every method a no-op here."""

    def __init__(self, bank: MemoryBank):
        self.bank = bank

    def reset(self) -> None:
        """Forget anything in progress (the collector restarts every maze)."""

    def query(self, obs: torch.Tensor, starts: torch.Tensor) -> torch.Tensor | None:
        """The read query (B, N, Dk) for `obs` (B, N, C, V, V), or None to use the agent's
        previous query; `starts` (B, N). Called once per step, before `after_step` (at the end
        of a rollout for the bootstrap value, whose read the next step reuses)."""
        return None

    def before_step(self, out, alive: torch.Tensor, episode: torch.Tensor, step: torch.Tensor) -> None:
        """After the agent acted, before the env steps: its output (rows), who acted
        `alive` (B, N), and the mazes' episode numbers and steps within the episode (B,)."""

    def after_step(self, action, reward, terminated, truncated, alive, episode) -> None:
        """After the env stepped: (B, N) action, reward, terminated, truncated, alive (who
        acted); episode (B,) the episode number the step belonged to."""


class RepresentationContent(Content):
    """The agent's own write request every step (see the module docstring)."""

    def before_step(self, out, alive, episode, step) -> None:
        if out.write is None:
            return
        B, N = self.bank.config.n_mazes, self.bank.config.n_agents
        self.bank.write(out.write.keys.view(B, N, -1), out.write.values.view(B, N, -1),
                        {"episode": episode, "step": step}, alive)


class OutcomeContent(Content):
    """View keys and hindsight outcome labels (see the module docstring).

    horizon: the env's max_steps; gamma: discount of the return label; history: previous
    views and actions in the key; seed: the key projection's seed (fixed per run, so keys
    written at any point of training stay comparable).
    """

    def __init__(self, bank: MemoryBank, obs_shape, n_actions: int, horizon: int, gamma: float,
                 history: int = 0, seed: int = 0):
        super().__init__(bank)
        cfg = bank.config
        self.keys = ViewKeys(obs_shape, n_actions, cfg.key_dim, history, seed, bank.device)
        self.writer = HindsightWriter(bank, OutcomeCodec(n_actions, horizon), gamma)
        self.past = torch.zeros(cfg.n_mazes, cfg.n_agents, history, self.keys.n_view + n_actions,
                                device=bank.device)
        self._last: tuple[torch.Tensor, ...] | None = None  # key, view, past of the last query

    def reset(self) -> None:
        self.writer.clear()
        self.past.zero_()
        self._last = None

    def query(self, obs, starts):
        view = self.keys.view(obs.to(self.past.device))
        past = self.past * ~starts.to(self.past.device)[..., None, None]
        key = self.keys.key(view, past)
        self._last = (key, view, past)
        return key

    def after_step(self, action, reward, terminated, truncated, alive, episode) -> None:
        if self._last is None:
            raise RuntimeError("after_step() before query(): the collector reads before it acts")
        key, view, past = self._last
        self.writer.record(key, action, reward, alive, terminated, terminated | truncated, episode)
        if self.keys.history:
            dev = past.device
            step = torch.cat([view, F.one_hot(action.to(dev), self.keys.n_actions).float()], dim=-1)
            self.past = torch.cat([step.unsqueeze(-2), past[..., :-1, :]], dim=-2)


CONTENT_KINDS = {"representation": RepresentationContent, "outcome": OutcomeContent}


def register_content(name: str, cls) -> None:
    """Make `cls` selectable as `content.kind=name` (constructor: see `make_content`)."""
    CONTENT_KINDS[name] = cls


def make_content(spec: dict, bank: MemoryBank, obs_shape, n_actions: int, horizon: int,
                 gamma: float, seed: int):
    """The content kind named by spec["kind"], with the rest of `spec` as its options."""
    spec = dict(spec)
    kind = spec.pop("kind", "representation")
    if kind not in CONTENT_KINDS:
        raise ValueError(f"content.kind={kind!r} is not allowed; choose one of {tuple(CONTENT_KINDS)}")
    if kind == "representation":
        if spec:
            raise ValueError(f"content kind 'representation' takes no options; got {sorted(spec)}")
        return RepresentationContent(bank)
    cls = CONTENT_KINDS[kind]
    if cls is OutcomeContent:
        allowed = {"history"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(f"content kind 'outcome' has no option(s) {unknown}; allowed: {sorted(allowed)}")
        return OutcomeContent(bank, obs_shape, n_actions, horizon, gamma, seed=seed + 2000, **spec)
    return cls(bank, obs_shape=obs_shape, n_actions=n_actions, horizon=horizon, gamma=gamma,
               seed=seed, **spec)
