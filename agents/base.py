"""The agent protocol: what every policy takes and returns for one environment step.

A runner only ever talks to agents through this file:

    state = agent.initial_state(B, device)      # flat dict of batch-first tensors
    out = agent(obs, state, recall)             # obs (B, C, V, V) uint8; recall or None
    state = agent.reset_state(out.state, starts)  # starts (B,) bool: rows that begin a new episode

`AgentBase` does the checks once (the public `forward` validates, the protected
`_forward` computes) and gives every agent the same mask-blend `reset_state`.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator, Protocol, runtime_checkable

import torch
from torch import nn

from agents.memory_prior import MemoryPrior

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class WriteRequest:
    """What an agent asks memory to store this step.

    keys   (B, Dk) float32  where the entry will be found (unit length, see agents/memory_io.py)
    values (B, Dv) float32  what a later reader receives
    """

    keys: torch.Tensor
    values: torch.Tensor


@dataclass
class AgentOutput:
    """One environment step of an agent.

    logits (B, A)   unnormalised action scores
    value  (B,)     state-value estimate
    state           next recurrent state (flat dict of batch-first tensors; {} if not recurrent)
    query  (B, Dk)  what to look up in memory for the next step, or None without memory
    write           WriteRequest, or None without memory
    aux             extra per-row tensors for logging or losses (CTM: ticks_used (B,),
                    certainty (B,), certainty_per_tick (B, T), logits_per_tick (B, A, T))
    """

    logits: torch.Tensor
    value: torch.Tensor
    state: State
    query: torch.Tensor | None = None
    write: WriteRequest | None = None
    aux: dict[str, torch.Tensor] = field(default_factory=dict)


@runtime_checkable
class Agent(Protocol):
    """What the runner relies on; `AgentBase` is one way to satisfy it. Optional: a float
    `trunk_lr_scale`, the rate its parameters outside the heads (`actor.*`, `critic.*`,
    `prior.*`) learn at as a multiple of the heads' (1 where absent;
    experiments.build.make_optimizer reads it)."""

    key_dim: int
    value_dim: int
    recurrent: bool

    def initial_state(self, batch: int, device: torch.device | str) -> State: ...

    def __call__(self, obs: torch.Tensor, state: State, recall=None) -> AgentOutput: ...

    def reset_state(self, state: State, starts: torch.Tensor) -> State: ...


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build parameters from `seed` without touching the caller's global torch RNG.

    torch's layer constructors draw from the global generator; forking it here makes
    an agent's initial weights a function of its own seed alone.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class AgentBase(nn.Module):
    """Shared checks and state handling; subclasses implement `_forward` and `initial_state`.

    key_dim = 0 or value_dim = 0 means the agent uses no memory: it ignores `recall`
    and returns query = write = None.
    """

    recurrent: bool = True
    trunk_lr_scale: float = 1.0     # the trunk's learning rate over the heads' (see Agent)

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int,
                 key_dim: int = 0, value_dim: int = 0):
        super().__init__()
        obs_shape = tuple(int(s) for s in obs_shape)
        if len(obs_shape) != 3:
            raise ValueError(f"obs_shape={obs_shape} must be (C, V, V)")
        C, V, V2 = obs_shape
        if C < 1 or V != V2 or V < 1 or V % 2 == 0:
            raise ValueError(f"obs_shape={obs_shape}: need C >= 1 and a square window with odd V")
        if n_actions < 1:
            raise ValueError(f"n_actions={n_actions} must be >= 1")
        if key_dim < 0 or value_dim < 0:
            raise ValueError(f"key_dim={key_dim}, value_dim={value_dim} must be >= 0 (0 = no memory)")
        self.obs_shape = obs_shape
        self.n_actions = int(n_actions)
        self.uses_memory = key_dim > 0 and value_dim > 0
        # An agent that reads nothing must not advertise a half-used memory interface.
        self.key_dim = int(key_dim) if self.uses_memory else 0
        self.value_dim = int(value_dim) if self.uses_memory else 0
        self.prior = None   # a MemoryPrior where the agent's `memory_prior` knob is on (_make_prior)

    # -- the protocol -------------------------------------------------------------------------

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        return {}

    def forward(self, obs: torch.Tensor, state: State, recall=None) -> AgentOutput:
        self._check_obs(obs)
        recall = self._check_recall(recall, obs.shape[0]) if self.uses_memory else None
        return self._forward(obs, state, recall)

    def reset_state(self, state: State, starts: torch.Tensor) -> State:
        """Rows where `starts` is True (they begin a new episode) get the initial state; the
        others are kept as is.

        A mask-blend (torch.where), so gradients still flow to learned start states.
        """
        if not state:
            return state
        B = next(iter(state.values())).shape[0]
        if starts.shape != (B,) or starts.dtype != torch.bool:
            raise ValueError(f"starts must be bool of shape ({B},), got {starts.dtype} "
                             f"{tuple(starts.shape)}")
        fresh = self.initial_state(B, starts.device)
        out = {}
        for name, value in state.items():
            mask = starts.view(B, *([1] * (value.dim() - 1)))
            out[name] = torch.where(mask, fresh[name].to(value.dtype), value)
        return out

    # -- for subclasses -----------------------------------------------------------------------

    def _make_prior(self, on: bool, hidden: int):
        """The memory prior of agents/memory_prior.py, or None when off or without memory."""
        return MemoryPrior(self.value_dim, self.n_actions, hidden) if on and self.uses_memory else None

    def _with_prior(self, logits: torch.Tensor, value: torch.Tensor, recall
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """logits (B, A) and value (B,) plus the memory prior's, where the agent has one."""
        if self.prior is None:
            return logits, value
        prior_logits, prior_value = self.prior(recall, logits.shape[0], logits)
        return logits + prior_logits, value + prior_value

    def _forward(self, obs: torch.Tensor, state: State, recall) -> AgentOutput:
        raise NotImplementedError

    def _check_obs(self, obs: torch.Tensor) -> None:
        if obs.dtype != torch.uint8:
            raise ValueError(f"obs must be uint8 (B, C, V, V), got dtype {obs.dtype}")
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.obs_shape:
            raise ValueError(f"obs shape {tuple(obs.shape)} does not match (B, *{self.obs_shape})")

    def _check_recall(self, recall, batch: int):
        """None, or an object with keys (B, k, Dk), values (B, k, Dv), scores (B, k), mask (B, k)."""
        if recall is None:
            return None
        keys, values, mask = recall.keys, recall.values, recall.mask
        if keys.dim() != 3 or keys.shape[0] != batch or keys.shape[-1] != self.key_dim:
            raise ValueError(f"recall.keys shape {tuple(keys.shape)} must be ({batch}, k, {self.key_dim}); "
                             "call Recall.flatten() first")
        k = keys.shape[1]
        if tuple(values.shape) != (batch, k, self.value_dim):
            raise ValueError(f"recall.values shape {tuple(values.shape)} must be ({batch}, {k}, {self.value_dim})")
        if tuple(mask.shape) != (batch, k) or tuple(recall.scores.shape) != (batch, k):
            raise ValueError(f"recall.mask/scores shapes {tuple(mask.shape)}/{tuple(recall.scores.shape)} "
                             f"must be ({batch}, {k})")
        return recall


def mlp(in_dim: int, hidden: int, out_dim: int, out_std: float | None = None) -> nn.Sequential:
    """The two-hidden-layer ReLU head the CTM reference uses for actor and critic.

    out_std: None keeps torch's default initialisation. A number gives the reference RL
    initialisation (CleanRL's): orthogonal weights with gain sqrt(2) in the hidden layers,
    gain `out_std` in the last (0.01 for an actor, so the first policy is near uniform; 1 for
    a critic), zero biases.
    """
    net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                        nn.Linear(hidden, out_dim))
    if out_std is not None:
        linears = [m for m in net if isinstance(m, nn.Linear)]
        for layer, gain in zip(linears, (2**0.5, 2**0.5, out_std)):
            nn.init.orthogonal_(layer.weight, gain)
            nn.init.zeros_(layer.bias)
    return net


def actor_critic(in_dim: int, hidden: int, n_actions: int, reference_init: bool = True) -> tuple[nn.Module, nn.Module]:
    """Actor (in_dim -> n_actions) and critic (in_dim -> 1) heads; `reference_init` gives the
    reference RL initialisation (last-layer gain 0.01 for the actor, 1 for the critic)."""
    return (mlp(in_dim, hidden, n_actions, 0.01 if reference_init else None),
            mlp(in_dim, hidden, 1, 1.0 if reference_init else None))
