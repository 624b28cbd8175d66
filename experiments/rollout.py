"""Collecting experience: B mazes x N agents, one shared policy, memory read and written in the loop.

Rows: every (maze b, agent i) is one row r = b * N + i with its own recurrent state and
its own slot in the memory bank; the policy's parameters are shared by all rows.

One step of collection, for every row at once:

    state  = agent.reset_state(state, starts)            rows that begin an episode
    recall = bank.read(query)                             the content's query for obs, or the agent's
                                                          from the previous step; dead agents masked
    out    = agent(obs, state, recall)                    logits, value, next state, next query, write
    content.before_step(out)                              representation: the agent's write request
    obs, reward, ... = env.step(sampled actions)          autoreset per maze
    content.after_step(...)                               outcome: labelled entries of ended episodes
    bank.on_reset(mazes that reset, layouts that changed)

The buffer keeps the retrieved entries of every step, so the PPO update recomputes
attention over exactly what the policy saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from experiments.content import RepresentationContent
from memory import Recall


@dataclass
class Rollout:
    """One rollout; T steps x R rows.

    obs        (T, R, C, V, V) uint8
    actions    (T, R) int64
    logprobs   (T, R) float32   under the acting policy
    values     (T, R) float32
    rewards    (T, R) float32   (scaled, as used for learning)
    active     (T, R) bool      the agent acted (it was alive); others are masked out of the loss
    ended      (T, R) bool      the agent terminated or truncated at this step
    starts     (T, R) bool      the row began a new episode at this step (state reset before it)
    recall     Recall with leading (T, R), or None without memory
    init_state the agent state before step 0 (R rows)
    next_value (R,)             bootstrap value after the last step
    """

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    values: torch.Tensor
    rewards: torch.Tensor
    active: torch.Tensor
    ended: torch.Tensor
    starts: torch.Tensor
    recall: Recall | None
    init_state: dict[str, torch.Tensor]
    next_value: torch.Tensor
    aux: dict[str, torch.Tensor] = field(default_factory=dict)


class RunningReturnScale:
    """Divide rewards by the running std of the discounted return (as gym's NormalizeReward)."""

    def __init__(self, rows: int, gamma: float, device):
        self.gamma = gamma
        self.ret = torch.zeros(rows, dtype=torch.float64, device=device)
        self.count, self.mean, self.var = 1e-4, 0.0, 1.0

    def __call__(self, reward: torch.Tensor, ended: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        self.ret = self.ret * self.gamma + reward.double()
        x = self.ret[active]
        if x.numel():
            b_mean, b_var, n = float(x.mean()), float(x.var(unbiased=False)), x.numel()
            delta, total = b_mean - self.mean, self.count + n
            self.mean += delta * n / total
            self.var = (self.var * self.count + b_var * n + delta**2 * self.count * n / total) / total
            self.count = total
        self.ret = self.ret.masked_fill(ended, 0.0)
        return reward / (self.var**0.5 + 1e-8)

    def state_dict(self) -> dict:
        return {"ret": self.ret, "count": self.count, "mean": self.mean, "var": self.var}

    def load_state_dict(self, state: dict) -> None:
        self.ret = state["ret"].to(self.ret.device)
        self.count, self.mean, self.var = state["count"], state["mean"], state["var"]


def sample_actions(logits: torch.Tensor, generator: torch.Generator, greedy: bool = False):
    """Actions (R,) and their log-probabilities, drawn from `generator` (never the global RNG)."""
    logp = torch.log_softmax(logits, dim=-1)
    if greedy:
        action = logits.argmax(-1)
    else:
        action = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1)
    return action, logp.gather(-1, action.unsqueeze(-1)).squeeze(-1)


class Collector:
    """Steps env, agent and bank together and remembers where it stopped between rollouts."""

    def __init__(self, env, agent, bank, k: int, generator: torch.Generator, reward_scale=None,
                 content=None):
        self.env, self.agent, self.bank, self.k = env, agent, bank, k
        self.B, self.N = env.n_mazes, env.n_agents
        self.R = self.B * self.N
        self.generator = generator
        self.reward_scale = reward_scale
        self.device = env.device
        self.uses_memory = bank is not None and agent.key_dim > 0
        # What entries say (experiments/content.py); the agent's own write requests by default.
        self.content = content or (RepresentationContent(bank) if self.uses_memory else None)

    def start(self, seed: int) -> None:
        obs, info = self.env.reset(seed=seed)
        self.obs = obs.view(self.R, *obs.shape[2:])
        self.active = info["alive"].reshape(self.R)
        self.starts = torch.ones(self.R, dtype=torch.bool, device=self.device)
        self.state = self.agent.initial_state(self.R, self.device)
        self.query = None
        if self.bank is not None:
            everything = torch.ones(self.B, dtype=torch.bool, device=self.device)
            self.bank.on_reset(everything, everything)
        if self.uses_memory:
            self.content.reset()

    def read(self, obs: torch.Tensor, active: torch.Tensor, starts: torch.Tensor) -> Recall | None:
        if not self.uses_memory:
            return None
        query = self.content.query(obs, starts)
        if query is None:
            # The agent's query from the previous step; none at an episode's first step.
            query, active = self.query, active & ~starts
        if query is None:
            return Recall.empty((self.R,), self.k, self.agent.key_dim, self.agent.value_dim, self.device)
        recall = self.bank.read(query.view(self.B, self.N, -1), self.k, alive=active.view(self.B, self.N))
        return recall.flatten()

    @torch.no_grad()
    def step(self, greedy: bool = False):
        """One step for every row. Returns what the buffer stores, plus the env's info."""
        R = self.R
        obs, active, starts = self.obs, self.active, self.starts
        self.state = self.agent.reset_state(self.state, starts)
        recall = self.read(obs, active, starts)
        out = self.agent(obs, self.state, recall)
        action, logp = sample_actions(out.logits, self.generator, greedy)
        world = self.env.world
        episode = world.episode                  # the world replaces, never mutates, its tensors
        if self.uses_memory:
            self.content.before_step(out, active, episode, world.t)
        next_obs, reward, term, trunc, info = self.env.step(action.view(self.B, self.N))
        if self.uses_memory:
            self.content.after_step(action, reward.reshape(R), term.reshape(R), trunc.reshape(R),
                                    active, episode.repeat_interleave(self.N))
        if self.bank is not None:
            self.bank.on_reset(info["reset"], info["layout_changed"])
        self.obs = next_obs.view(R, *next_obs.shape[2:])
        self.active = info["alive"].reshape(R)
        self.starts = info["reset"].repeat_interleave(self.N)
        self.state, self.query = out.state, out.query
        step = dict(obs=obs, action=action, logp=logp, value=out.value, reward=reward.reshape(R),
                    done=(term | trunc).reshape(R), active=active, starts=starts, recall=recall)
        return step, out, info

    @torch.no_grad()
    def collect(self, T: int, on_step=None) -> Rollout:
        """Run T steps. `on_step(info, out, actions)` sees every step (for logging)."""
        R, dev = self.R, self.device
        obs_buf = torch.empty((T, R, *self.obs.shape[1:]), dtype=torch.uint8, device=dev)
        actions = torch.empty((T, R), dtype=torch.int64, device=dev)
        logprobs = torch.empty((T, R), device=dev)
        values = torch.empty((T, R), device=dev)
        rewards = torch.empty((T, R), device=dev)
        active = torch.empty((T, R), dtype=torch.bool, device=dev)
        ended = torch.empty((T, R), dtype=torch.bool, device=dev)
        starts = torch.empty((T, R), dtype=torch.bool, device=dev)
        recalls: list[Recall] = []
        aux: dict[str, list[torch.Tensor]] = {}
        init_state = self.agent.reset_state(self.state, self.starts)
        init_state = {k: v.clone() for k, v in init_state.items()}
        for t in range(T):
            s, out, info = self.step()
            obs_buf[t], actions[t], logprobs[t], values[t] = s["obs"], s["action"], s["logp"], s["value"]
            active[t], ended[t], starts[t] = s["active"], s["done"], s["starts"]
            reward = s["reward"]
            rewards[t] = self.reward_scale(reward, s["done"], s["active"]) if self.reward_scale else reward
            if s["recall"] is not None:
                recalls.append(s["recall"])
            for name, value in out.aux.items():
                if value.dim() == 1:
                    aux.setdefault(name, []).append(value)
            if on_step is not None:
                on_step(info, out, s["action"])
        # Bootstrap value of where the rollout stopped (state reset where an episode begins).
        state = self.agent.reset_state(self.state, self.starts)
        next_value = self.agent(self.obs, state, self.read(self.obs, self.active, self.starts)).value
        stacked = None
        if recalls:
            stacked = Recall(**{f: torch.stack([getattr(r, f) for r in recalls])
                                for f in ("keys", "values", "scores", "mask", "ids", "writers")})
        return Rollout(obs_buf, actions, logprobs, values, rewards, active, ended, starts, stacked,
                       init_state, next_value * self.active, {k: torch.stack(v) for k, v in aux.items()})
