"""Hindsight writing: each agent's episode is buffered and written, labelled with its outcome,
when that agent's episode ends.

An entry for step t cannot say what followed until the writer's episode is over, so entries
are held in a buffer per (maze, agent) and flushed into the bank the step the agent
terminates or is truncated, all of its steps in one `MemoryBank.write_entries` call.
What a reader sees: entries of episodes that have ended, never of one in progress, its own
included. In a shared store, an agent that reached the goal leaves its trail to maze-mates
still searching in the same episode. Episodes cut short by the end of collection (the end
of an evaluation, a restart) are never written.
"""
from __future__ import annotations

import torch

from memory.checks import check_tensor, per_row
from memory.outcome import OutcomeCodec


class HindsightWriter:
    """Buffers up to `horizon` steps per (maze, agent) of `bank` and writes finished episodes
    with outcome labels (memory/outcome.py). Inputs are in the bank's layout, (B, N, ...).

    gamma: discount of the return-to-go label.
    """

    def __init__(self, bank, codec: OutcomeCodec, gamma: float):
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma={gamma} must be in (0, 1]")
        cfg = bank.config
        if cfg.value_dim < codec.width:
            raise ValueError(f"the bank's value_dim={cfg.value_dim} cannot hold outcome labels: "
                             f"they need >= {codec.width}")
        self.bank, self.codec, self.gamma = bank, codec, gamma
        B, N, H, dev = cfg.n_mazes, cfg.n_agents, codec.horizon, bank.device
        self.keys = torch.zeros(B, N, H, cfg.key_dim, device=dev)
        self.actions = torch.zeros(B, N, H, dtype=torch.int64, device=dev)
        self.rewards = torch.zeros(B, N, H, dtype=torch.float64, device=dev)
        self.episode = torch.zeros(B, N, dtype=torch.int64, device=dev)
        self.length = torch.zeros(B, N, dtype=torch.int64, device=dev)
        self.discount = gamma ** torch.arange(H, dtype=torch.float64, device=dev)

    def clear(self) -> None:
        """Forget every episode in progress."""
        self.length.zero_()

    def record(self, keys: torch.Tensor, action: torch.Tensor, reward: torch.Tensor, alive: torch.Tensor,
               reached: torch.Tensor, ended: torch.Tensor, episode) -> int:
        """One environment step for every (maze, agent) (B, N): the key its entry will be
        found by (B, N, Dk), the action it took, the reward it got, whether it acted (`alive`),
        reached the goal, and whether its episode ended (reached or truncated) at this step;
        `episode` the episode number the step belongs to, per maze (B,), per agent (B, N) or
        one int. Returns the entries written this step."""
        B, N = self.length.shape
        H = self.codec.horizon
        check_tensor("keys", keys, (B, N, self.keys.shape[-1]), "float")
        for name, t in (("action", action), ("reward", reward), ("alive", alive),
                        ("reached", reached), ("ended", ended)):
            check_tensor(name, t, (B, N))
        dev = self.length.device
        episode = per_row("episode", episode, B, N, dev)
        alive = alive.to(dev)
        b, i = torch.nonzero(alive, as_tuple=True)
        t = self.length[b, i]
        if bool((t >= H).any()):
            raise ValueError(f"an episode ran past horizon={H} steps; the codec's horizon must be "
                             "the env's max_steps")
        self.keys[b, i, t] = keys.to(dev, torch.float32)[b, i]
        self.actions[b, i, t] = action.to(dev, torch.int64)[b, i]
        self.rewards[b, i, t] = reward.to(dev, torch.float64)[b, i]
        self.episode[b, i] = episode[b, i]
        self.length[b, i] = t + 1
        b, i = torch.nonzero(ended.to(dev) & alive, as_tuple=True)
        if b.numel() == 0:
            return 0
        written = self._flush(b, i, reached.to(dev)[b, i])
        self.length[b, i] = 0
        return written

    def _flush(self, maze: torch.Tensor, agent: torch.Tensor, reached: torch.Tensor) -> int:
        """Write every buffered step of the F writers (maze, agent) (F,) with its labels."""
        H = self.codec.horizon
        length = self.length[maze, agent]                                    # (F,)
        steps = torch.arange(H, device=maze.device)
        valid = steps < length.unsqueeze(1)                                  # (F, H)
        # Return-to-go G_t = sum_{j>=t} gamma^(j-t) r_j, as a reversed cumulative sum.
        weighted = self.rewards[maze, agent] * self.discount * valid
        tail = weighted.flip(1).cumsum(1).flip(1)
        rtg = tail / self.discount
        f, t = torch.nonzero(valid, as_tuple=True)                           # (W,) each
        steps_left = length[f] - t
        b, i = maze[f], agent[f]
        values = self.codec.encode(self.actions[b, i, t], reached[f], steps_left, rtg[f, t],
                                   self.bank.config.value_dim)
        return self.bank.write_entries(b, i, self.keys[b, i, t], values, self.episode[b, i], t)
