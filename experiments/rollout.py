"""Collecting experience: B mazes x N agents, one shared policy, memory read and written in the loop.

Two layouts, one boundary. The env, the content kinds and the memory bank speak (maze, agent):
tensors shaped (B, N, ...). The agent and the Rollout buffer speak rows: every (maze b,
agent i) is one row r = b * N + i of a flat batch (R = B * N), with its own recurrent state;
the policy's parameters are shared by all rows. The Collector converts exactly where it
calls the agent (`rows` in, `mazes` out) and nowhere else.

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
    alive      (T, R) bool      the agent acted at this step; others are masked out of the loss
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
    alive: torch.Tensor
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

    def __call__(self, reward: torch.Tensor, ended: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        self.ret = self.ret * self.gamma + reward.double()
        x = self.ret[alive]
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


def sample_actions(logits: torch.Tensor, generator: torch.Generator, greedy: bool | torch.Tensor = False):
    """Actions (R,) and their log-probabilities, drawn from `generator` (never the global RNG).
    `greedy`: argmax for every row, or a bool mask (R,) of the rows that take their argmax."""
    logp = torch.log_softmax(logits, dim=-1)
    if isinstance(greedy, torch.Tensor):
        sampled = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1)
        action = torch.where(greedy, logits.argmax(-1), sampled)
    elif greedy:
        action = logits.argmax(-1)
    else:
        action = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1)
    return action, logp.gather(-1, action.unsqueeze(-1)).squeeze(-1)


class Collector:
    """Steps env, agent and bank together and remembers where it stopped between rollouts.

    What it holds between steps is in the env's (B, N) layout: obs, alive, starts, the
    agent's last query, and the env's last info (episode and step numbers of `obs`)."""

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

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, ...) -> (R, ...): the agent's and the buffer's layout."""
        return x.flatten(0, 1)

    def mazes(self, x: torch.Tensor) -> torch.Tensor:
        """(R, ...) -> (B, N, ...): the env's, the content's and the bank's layout."""
        return x.view(self.B, self.N, *x.shape[1:])

    def _observe(self, obs: torch.Tensor, info: dict, starts: torch.Tensor) -> None:
        self.obs, self.alive, self.info = obs, info["alive"], info
        self.starts = starts.unsqueeze(1).expand(self.B, self.N)
        self.read_done = False  # no memory read for this observation yet

    def start(self, seed: int) -> None:
        obs, info = self.env.reset(seed=seed)
        self._observe(obs, info, torch.ones(self.B, dtype=torch.bool, device=self.device))
        self.state = self.agent.initial_state(self.R, self.device)
        self.query = None
        if self.bank is not None:
            everything = torch.ones(self.B, dtype=torch.bool, device=self.device)
            self.bank.on_reset(everything, everything)
        if self.uses_memory:
            self.content.reset()

    def read(self, obs: torch.Tensor, alive: torch.Tensor, starts: torch.Tensor) -> Recall | None:
        """What the agents of `obs` (B, N, ...) retrieve, as the agent receives it: a Recall
        (R, k, ...) in rows, or None without memory."""
        if not self.uses_memory:
            return None
        query = self.content.query(obs, starts)
        if query is None:
            # The agent's query from the previous step; none at an episode's first step.
            query, alive = self.query, alive & ~starts
        if query is None:
            return Recall.empty((self.R,), self.k, self.agent.key_dim, self.agent.value_dim, self.device)
        return self.bank.read(query, self.k, alive=alive).flatten()

    def read_once(self) -> Recall | None:
        """The read for the current observation, made once: the bootstrap value at the end
        of a rollout reads for the step the next rollout begins with, and that step reuses
        it (a second read would count twice in the bank's statistics and in LRU recency)."""
        if not self.read_done:
            self.recall, self.read_done = self.read(self.obs, self.alive, self.starts), True
        return self.recall

    def act(self, obs: torch.Tensor, starts: torch.Tensor, recall: Recall | None):
        """The agent's output for `obs` (R, ...), its state reset where `starts` (R,)."""
        return self.agent(obs, self.agent.reset_state(self.state, starts), recall)

    @torch.no_grad()
    def step(self, greedy: bool | torch.Tensor = False):
        """One step for every row (`greedy`: as in `sample_actions`). Returns what the buffer
        stores (in rows), the agent's output and the env's info."""
        obs, alive, starts, info = self.obs, self.alive, self.starts, self.info
        recall = self.read_once()
        obs_rows, starts_rows = self.rows(obs), self.rows(starts)
        out = self.act(obs_rows, starts_rows, recall)
        action, logp = sample_actions(out.logits, self.generator, greedy)
        if self.uses_memory:
            self.content.before_step(out, alive, info["episode_index"], info["step_index"])
        next_obs, reward, term, trunc, next_info = self.env.step(self.mazes(action))
        if self.uses_memory:
            self.content.after_step(self.mazes(action), reward, term, trunc, alive, info["episode_index"])
        if self.bank is not None:
            self.bank.on_reset(next_info["reset"], next_info["layout_changed"])
        self._observe(next_obs, next_info, next_info["reset"])
        self.state = out.state
        self.query = None if out.query is None else self.mazes(out.query)
        step = dict(obs=obs_rows, action=action, logp=logp, value=out.value,
                    reward=self.rows(reward), ended=self.rows(term | trunc), alive=self.rows(alive),
                    starts=starts_rows, recall=recall)
        return step, out, next_info

    @torch.no_grad()
    def collect(self, T: int, on_step=None) -> Rollout:
        """Run T steps. `on_step(info, out, actions)` sees every step (for logging)."""
        R, dev = self.R, self.device
        obs_buf = torch.empty((T, R, *self.obs.shape[2:]), dtype=torch.uint8, device=dev)
        actions = torch.empty((T, R), dtype=torch.int64, device=dev)
        logprobs = torch.empty((T, R), device=dev)
        values = torch.empty((T, R), device=dev)
        rewards = torch.empty((T, R), device=dev)
        alive = torch.empty((T, R), dtype=torch.bool, device=dev)
        ended = torch.empty((T, R), dtype=torch.bool, device=dev)
        starts = torch.empty((T, R), dtype=torch.bool, device=dev)
        recalls: list[Recall] = []
        aux: dict[str, list[torch.Tensor]] = {}
        init_state = self.agent.reset_state(self.state, self.rows(self.starts))
        init_state = {k: v.clone() for k, v in init_state.items()}
        for t in range(T):
            s, out, info = self.step()
            obs_buf[t], actions[t], logprobs[t], values[t] = s["obs"], s["action"], s["logp"], s["value"]
            alive[t], ended[t], starts[t] = s["alive"], s["ended"], s["starts"]
            reward = s["reward"]
            rewards[t] = self.reward_scale(reward, s["ended"], s["alive"]) if self.reward_scale else reward
            if s["recall"] is not None:
                recalls.append(s["recall"])
            for name, value in out.aux.items():
                if value.dim() == 1:
                    aux.setdefault(name, []).append(value)
            if on_step is not None:
                on_step(info, out, s["action"])
        # Bootstrap value of where the rollout stopped (state reset where an episode begins).
        recall = self.read_once()
        next_value = self.act(self.rows(self.obs), self.rows(self.starts), recall).value
        stacked = None
        if recalls:
            stacked = Recall(**{f: torch.stack([getattr(r, f) for r in recalls])
                                for f in ("keys", "values", "scores", "mask", "ids", "writers")})
        return Rollout(obs_buf, actions, logprobs, values, rewards, alive, ended, starts, stacked,
                       init_state, next_value * self.rows(self.alive),
                       {k: torch.stack(v) for k, v in aux.items()})
