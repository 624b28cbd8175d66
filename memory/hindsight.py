"""Hindsight writing: each agent's episode is buffered and written, labelled with its outcome,
when that agent's episode ends.

An entry for step t cannot say what followed until the writer's episode is over, so entries
are held in a per-row buffer (row = (maze, agent)) and flushed into the bank the step the
agent terminates or is truncated, all of its steps in one `MemoryBank.write_entries` call.
What a reader sees: entries of episodes that have ended, never of one in progress, its own
included. In a shared store, an agent that reached the goal leaves its trail to maze-mates
still searching in the same episode. Episodes cut short by the end of collection (the end
of an evaluation, a restart) are never written.
"""
from __future__ import annotations

import torch

from memory.checks import check_tensor
from memory.outcome import OutcomeCodec


class HindsightWriter:
    """Buffers up to `horizon` steps per row of `bank` (B*N rows, row = maze * N + agent) and
    writes finished episodes with outcome labels (memory/outcome.py).

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
        self.N = cfg.n_agents
        R, H, dev = cfg.n_mazes * cfg.n_agents, codec.horizon, bank.device
        self.keys = torch.zeros(R, H, cfg.key_dim, device=dev)
        self.actions = torch.zeros(R, H, dtype=torch.int64, device=dev)
        self.rewards = torch.zeros(R, H, dtype=torch.float64, device=dev)
        self.episode = torch.zeros(R, dtype=torch.int64, device=dev)
        self.length = torch.zeros(R, dtype=torch.int64, device=dev)
        self.discount = gamma ** torch.arange(H, dtype=torch.float64, device=dev)

    def clear(self) -> None:
        """Forget every episode in progress."""
        self.length.zero_()

    def record(self, keys: torch.Tensor, action: torch.Tensor, reward: torch.Tensor, acting: torch.Tensor,
               reached: torch.Tensor, ended: torch.Tensor, episode: torch.Tensor) -> int:
        """One environment step for every row (R,): the key the row's entry will be found by
        (R, Dk), the action it took, the reward it got, whether it acted, reached the goal,
        and whether its episode ended (reached or truncated) at this step; `episode` (R,)
        is the episode id the step belongs to. Returns the entries written this step."""
        R, H = self.length.shape[0], self.codec.horizon
        check_tensor("keys", keys, (R, self.keys.shape[-1]), "float")
        for name, t in (("action", action), ("reward", reward), ("acting", acting),
                        ("reached", reached), ("ended", ended), ("episode", episode)):
            check_tensor(name, t, (R,))
        dev = self.length.device
        acting = acting.to(dev)
        rows = torch.nonzero(acting).flatten()
        t = self.length[rows]
        if bool((t >= H).any()):
            raise ValueError(f"an episode ran past horizon={H} steps; the codec's horizon must be "
                             "the env's max_steps")
        self.keys[rows, t] = keys.to(dev, torch.float32)[rows]
        self.actions[rows, t] = action.to(dev, torch.int64)[rows]
        self.rewards[rows, t] = reward.to(dev, torch.float64)[rows]
        self.episode[rows] = episode.to(dev, torch.int64)[rows]
        self.length[rows] = t + 1
        done = torch.nonzero(ended.to(dev) & acting).flatten()
        if done.numel() == 0:
            return 0
        written = self._flush(done, reached.to(dev)[done])
        self.length[done] = 0
        return written

    def _flush(self, rows: torch.Tensor, reached: torch.Tensor) -> int:
        """Write every buffered step of `rows` (F,) with its labels."""
        H = self.codec.horizon
        length = self.length[rows]                                           # (F,)
        steps = torch.arange(H, device=rows.device)
        valid = steps < length.unsqueeze(1)                                  # (F, H)
        # Return-to-go G_t = sum_{j>=t} gamma^(j-t) r_j, as a reversed cumulative sum.
        weighted = self.rewards[rows] * self.discount * valid
        tail = weighted.flip(1).cumsum(1).flip(1)
        rtg = tail / self.discount
        f, t = torch.nonzero(valid, as_tuple=True)                           # (W,) each
        steps_left = length[f] - t
        values = self.codec.encode(self.actions[rows[f], t], reached[f], steps_left, rtg[f, t],
                                   self.bank.config.value_dim)
        r = rows[f]
        return self.bank.write_entries(r // self.N, r % self.N, self.keys[r, t], values,
                                       self.episode[r], t)
