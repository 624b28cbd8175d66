"""Baselines with the CTM's encoder and memory interface: LSTM, GRU, feed-forward, random.

Recurrent baselines, per environment step:

    tokens, f = encoder(obs)                     f (B, d_input)
    r = ReadAttention(h_prev; recall)            (B, read_dim), zeros without entries
    h = cell([f, r], h) repeated `ticks` times   (B, d_model)
    logits = actor(h); value = critic(h)

The feed-forward agent reads memory with its observation features as the query; the random
agent returns uniform logits, so the runner's own seeded sampler picks its actions.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from agents.base import AgentBase, AgentOutput, State, WriteRequest, actor_critic, seeded_init
from agents.encoders import ObservationEncoder
from agents.memory_io import MemoryIO
from memory import ReadAttention


class _MemoryReader(nn.Module):
    """ReadAttention, or zeros of the same width when there is nothing to read."""

    def __init__(self, query_dim: int, key_dim: int, value_dim: int, read_dim: int, heads: int):
        super().__init__()
        self.read_dim = read_dim
        self.read = ReadAttention(query_dim, key_dim, value_dim, read_dim, n_heads=heads) if read_dim else None

    def forward(self, query: torch.Tensor, recall) -> torch.Tensor:
        if self.read is None or recall is None or recall.mask.shape[1] == 0:
            return query.new_zeros(query.shape[0], self.read_dim)
        return self.read(query, recall)


class _CellAgent(AgentBase):
    """Shared body of LSTMAgent and GRUAgent: the cell type is the only difference.

    key_dim, value_dim: memory key and value widths (0: no memory).
    d_model: hidden width of the cell (`python -m agents.params --match ctm` finds the width
        whose parameter count matches a CTM's).
    d_input: encoder width.
    token_mlp: the encoder's per-token MLP width, as a multiple of d_input (0: none).
    ticks: cell steps per environment step.
    read_dim, read_heads: width of the memory read fed to the cell, and its attention heads.
    head_hidden: hidden width of the actor and critic heads.
    orthogonal_heads: the reference RL initialisation of actor and critic (agents.base.mlp).
    key_source: what memory keys are made from, "obs" (the view) or "sync" (the representation).
    memory_prior, prior_hidden: add action logits and a value read straight from the retrieved
        entries (agents/memory_prior.py), with MLPs of this hidden width; off by default.
    seed: weight initialisation (the runner passes the run's seed).
    """

    recurrent = True
    cell_type: type[nn.Module] = nn.LSTMCell
    state_names: tuple[str, ...] = ("h", "c")

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int = 0, value_dim: int = 0,
                 d_model: int = 128, d_input: int = 64, token_mlp: int = 0, ticks: int = 1, read_dim: int = 64,
                 read_heads: int = 1,
                 head_hidden: int = 64, orthogonal_heads: bool = True, key_source: str = "obs",
                 memory_prior: bool = False, prior_hidden: int = 32, seed: int = 0):
        super().__init__(obs_shape, n_actions, key_dim, value_dim)
        if ticks < 1 or d_model < 1:
            raise ValueError(f"ticks={ticks} and d_model={d_model} must be >= 1")
        self.ticks = ticks
        self.d_model = d_model
        read_dim = read_dim if self.uses_memory else 0
        with seeded_init(seed):
            self.encoder = ObservationEncoder(obs_shape, d_input, pool=True, token_mlp=token_mlp)
            self.reader = _MemoryReader(d_model, self.key_dim, self.value_dim, read_dim, read_heads)
            self.cell = self.cell_type(d_input + read_dim, d_model)
            bound = math.sqrt(1.0 / d_model)
            # Learned start states, as the reference LSTM baseline has.
            self.start = nn.ParameterDict({n: nn.Parameter(torch.empty(d_model).uniform_(-bound, bound))
                                           for n in self.state_names})
            self.actor, self.critic = actor_critic(d_model, head_hidden, n_actions, orthogonal_heads)
            self.prior = self._make_prior(memory_prior, prior_hidden)
        self.memory_io = (MemoryIO(obs_shape, d_model, self.key_dim, self.value_dim, key_source, seed + 1000)
                          if self.uses_memory else None)

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        """h (B, d_model) and, for the LSTM, c (B, d_model)."""
        return {n: p.to(device).unsqueeze(0).expand(batch, -1) for n, p in self.start.items()}

    def _step_cell(self, x: torch.Tensor, state: State) -> State:
        raise NotImplementedError

    def _forward(self, obs: torch.Tensor, state: State, recall) -> AgentOutput:
        if set(state) != set(self.state_names):
            raise ValueError(f"state keys {sorted(state)} do not match {sorted(self.state_names)}")
        _, features = self.encoder(obs)
        x = torch.cat([features, self.reader(state["h"], recall)], dim=-1)
        for _ in range(self.ticks):
            state = self._step_cell(x, state)
        h = state["h"]
        query = write = None
        if self.memory_io is not None:
            query = self.memory_io.key(obs, h)
            write = WriteRequest(keys=query, values=self.memory_io.value(h))
        logits, value = self._with_prior(self.actor(h), self.critic(h).squeeze(-1), recall)
        return AgentOutput(logits=logits, value=value, state=state, query=query, write=write)


class LSTMAgent(_CellAgent):
    """LSTM of width d_model; `ticks` cell steps per environment step (reference LSTM baseline)."""

    cell_type = nn.LSTMCell
    state_names = ("h", "c")

    def _step_cell(self, x: torch.Tensor, state: State) -> State:
        h, c = self.cell(x, (state["h"], state["c"]))
        return {"h": h, "c": c}


class GRUAgent(_CellAgent):
    """GRU of width d_model; otherwise identical to LSTMAgent."""

    cell_type = nn.GRUCell
    state_names = ("h",)

    def _step_cell(self, x: torch.Tensor, state: State) -> State:
        return {"h": self.cell(x, state["h"])}


class FeedForwardAgent(AgentBase):
    """No recurrence: encoder features (+ memory read) -> MLP torso -> actor, critic.

    Knobs as in LSTMAgent, with d_model the torso width and the read's query made from the
    observation features; no `ticks`.
    """

    recurrent = False

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int = 0, value_dim: int = 0,
                 d_model: int = 128, d_input: int = 64, token_mlp: int = 0, read_dim: int = 64, read_heads: int = 1,
                 head_hidden: int = 64, orthogonal_heads: bool = True, key_source: str = "obs",
                 memory_prior: bool = False, prior_hidden: int = 32, seed: int = 0):
        super().__init__(obs_shape, n_actions, key_dim, value_dim)
        read_dim = read_dim if self.uses_memory else 0
        with seeded_init(seed):
            self.encoder = ObservationEncoder(obs_shape, d_input, pool=True, token_mlp=token_mlp)
            self.reader = _MemoryReader(d_input, self.key_dim, self.value_dim, read_dim, read_heads)
            self.torso = nn.Sequential(nn.Linear(d_input + read_dim, d_model), nn.ReLU())
            self.actor, self.critic = actor_critic(d_model, head_hidden, n_actions, orthogonal_heads)
            self.prior = self._make_prior(memory_prior, prior_hidden)
        self.memory_io = (MemoryIO(obs_shape, d_model, self.key_dim, self.value_dim, key_source, seed + 1000)
                          if self.uses_memory else None)

    def _forward(self, obs: torch.Tensor, state: State, recall) -> AgentOutput:
        _, features = self.encoder(obs)
        h = self.torso(torch.cat([features, self.reader(features, recall)], dim=-1))
        query = write = None
        if self.memory_io is not None:
            query = self.memory_io.key(obs, h)
            write = WriteRequest(keys=query, values=self.memory_io.value(h))
        logits, value = self._with_prior(self.actor(h), self.critic(h).squeeze(-1), recall)
        return AgentOutput(logits=logits, value=value, state={}, query=query, write=write)


class RandomAgent(AgentBase):
    """Uniform logits and zero value; no parameters. With memory it writes observation keys
    and zero values, so memory plumbing can be exercised without learning.

    key_dim, value_dim: memory widths (0: no memory); key_source: "obs" only; seed: the key
    projection's seed.
    """

    recurrent = False

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int = 0, value_dim: int = 0,
                 key_source: str = "obs", seed: int = 0):
        super().__init__(obs_shape, n_actions, key_dim, value_dim)
        if self.uses_memory and key_source != "obs":
            raise ValueError(f"key_source={key_source!r}: RandomAgent has no representation; allowed: 'obs'")
        self.memory_io = (MemoryIO(obs_shape, 1, self.key_dim, self.value_dim, key_source, seed + 1000)
                          if self.uses_memory else None)

    def _forward(self, obs: torch.Tensor, state: State, recall) -> AgentOutput:
        B = obs.shape[0]
        zeros = torch.zeros(B, 1, device=obs.device)
        query = write = None
        if self.memory_io is not None:
            query = self.memory_io.key(obs, zeros)
            write = WriteRequest(keys=query, values=torch.zeros(B, self.value_dim, device=obs.device))
        return AgentOutput(logits=torch.zeros(B, self.n_actions, device=obs.device),
                           value=torch.zeros(B, device=obs.device), state={}, query=query, write=write)
