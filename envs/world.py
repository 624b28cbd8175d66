"""`World`: the state of B mazes x N agents as tensors, advanced by envs.rules.

This is the one implementation of the game; `MazeEnv` drives it with B = 1 and
`BatchedMazeEnv` with any B, on any device.

Seeding: maze b plays the *layout stream* `(seed, maze_index + b)`; the k-th layout
of a stream is generated from `SeedSequence([seed, stream, k])`, where `seed` is
`config.layout_seed` if set, else the seed given to `reset`. So a batched maze b
can be replayed alone in `MazeEnv(..., maze_index=b)` with the same seed.
"""
from __future__ import annotations

import numpy as np
import torch

from envs.config import MazeConfig
from envs.layouts import Layout
from envs.prefetch import LayoutPrefetcher, layout_for
from envs.rules import ObservationTables, goal_reward, move, observe, pack_cells


class World:
    """State tensors of B mazes. Updates replace tensors instead of mutating them, so
    a tensor handed out (in an info dict) keeps its value after later steps."""

    def __init__(self, config: MazeConfig, n_mazes: int, device="cpu", maze_index: int = 0,
                 layout_workers: int = 0):
        if n_mazes < 1:
            raise ValueError(f"n_mazes={n_mazes} must be >= 1")
        if layout_workers < 0:
            raise ValueError(f"layout_workers={layout_workers} must be >= 0 (0: make layouts in place)")
        self.config = config
        self.B, self.N = n_mazes, config.n_agents
        self.device = torch.device(device)
        self.maze_index = maze_index
        self.pad = config.view_size // 2
        H, W = config.grid_shape
        Hp, Wp = H + 2 * self.pad, W + 2 * self.pad
        B, N, dev = self.B, self.N, self.device
        self.tables = ObservationTables.build(config.view_size, Wp, dev)
        self.code = torch.zeros(B, Hp, Wp, dtype=torch.uint8, device=dev)
        self.distance = torch.full((B, H * W), -1, dtype=torch.int32, device=dev)
        self.goal = torch.zeros(B, 2, dtype=torch.int64, device=dev)
        self.spawns = torch.zeros(B, N, 2, dtype=torch.int64, device=dev)
        self.pos = torch.zeros(B, N, 2, dtype=torch.int64, device=dev)
        self.alive = torch.zeros(B, N, dtype=torch.bool, device=dev)
        self.success = torch.zeros(B, N, dtype=torch.bool, device=dev)
        self.last_action = torch.zeros(B, N, dtype=torch.int64, device=dev)
        self.t = torch.zeros(B, dtype=torch.int64, device=dev)
        self.episode = torch.full((B,), -1, dtype=torch.int64, device=dev)
        self.layout_index = torch.full((B,), -1, dtype=torch.int64, device=dev)
        self.episode_return = torch.zeros(B, N, dtype=torch.float32, device=dev)
        self.episode_length = torch.zeros(B, N, dtype=torch.int64, device=dev)
        self.start_distance = torch.zeros(B, N, dtype=torch.int64, device=dev)
        self.layouts: list[Layout | None] = [None] * B  # CPU copies, for rendering
        self.seed: int | None = None
        self.prefetcher = LayoutPrefetcher(config, layout_workers) if layout_workers else None

    # ------------------------------------------------------------------ episodes

    def seed_streams(self, seed: int | None) -> None:
        """Restart every layout stream from `seed` (None: fresh OS entropy)."""
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.seed = int(seed)
        self.episode = torch.full_like(self.episode, -1)
        self.layout_index = torch.full_like(self.layout_index, -1)
        if self.prefetcher is not None:
            self.prefetcher.clear()

    def layout_key(self, stream: int, k: int) -> tuple[int, int, int]:
        base = self.config.layout_seed if self.config.layout_seed is not None else self.seed
        return base, stream, k

    def _layouts(self, streams: list[int], indices: list[int]) -> list[Layout]:
        """Layouts `indices` of `streams`; with workers, also start on each stream's next one."""
        keys = [self.layout_key(s, k) for s, k in zip(streams, indices)]
        if self.prefetcher is None:
            return [layout_for(self.config, key) for key in keys]
        layouts = self.prefetcher.take(keys)
        if self.config.episodes_per_layout is not None:
            self.prefetcher.request([(seed, s, k + 1) for seed, s, k in keys])
        return layouts

    def close(self) -> None:
        if self.prefetcher is not None:
            self.prefetcher.close()

    def reset(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Start the next episode in the mazes of `mask` (B,) (all if None).

        Returns `layout_changed (B,)`: mazes that got a new layout. Layouts are made
        on the CPU (only for mazes whose layout changes) and uploaded.
        """
        if self.seed is None:
            self.seed_streams(None)
        if mask is None:
            mask = torch.ones(self.B, dtype=torch.bool, device=self.device)
        per = self.config.episodes_per_layout
        episode = torch.where(mask, self.episode + 1, self.episode)
        new_index = episode // per if per is not None else torch.zeros_like(episode)
        changed = mask & (new_index != self.layout_index)
        rows = torch.nonzero(changed).flatten().tolist()
        if rows:
            self._load(rows, self._layouts([self.maze_index + b for b in rows], new_index[rows].tolist()))
        self.episode, self.layout_index = episode, torch.where(mask, new_index, self.layout_index)
        m2 = mask.view(-1, 1)
        self.pos = torch.where(m2.unsqueeze(-1), self.spawns, self.pos)
        self.alive = self.alive | m2
        self.success = self.success & ~m2
        self.last_action = self.last_action.masked_fill(m2, 0)
        self.t = self.t.masked_fill(mask, 0)
        self.episode_return = self.episode_return.masked_fill(m2, 0.0)
        self.episode_length = self.episode_length.masked_fill(m2, 0)
        self.start_distance = torch.where(m2, self.distance_to_goal(), self.start_distance)
        return changed

    def _load(self, rows: list[int], layouts: list[Layout]) -> None:
        """Install `layouts` in mazes `rows`: stacked on the CPU, one upload per field."""
        for b, layout in zip(rows, layouts):
            self.layouts[b] = layout

        def upload(arrays):
            return torch.from_numpy(np.stack(arrays)).to(self.device)
        rows = torch.tensor(rows, device=self.device)
        self.code[rows] = upload([pack_cells(l.walls, l.landmarks, l.goal, self.pad) for l in layouts])
        self.distance[rows] = upload([l.distance.reshape(-1) for l in layouts])
        self.goal[rows] = upload([l.goal for l in layouts])
        self.spawns[rows] = upload([l.spawns for l in layouts])

    # ------------------------------------------------------------------ stepping

    def step(self, actions: torch.Tensor):
        """Advance every maze one step. Returns reward (B, N) float32 and
        terminated, truncated (B, N) bool for the agents that acted."""
        cfg = self.config
        acting = self.alive
        self.pos = move(self.pos, actions, acting, self.code, self.goal, self.pad, cfg.agents_block)
        self.t = self.t + 1
        reached = acting & (self.pos == self.goal.unsqueeze(1)).all(-1)
        reward = goal_reward(reached, self.t, cfg.horizon, cfg.reward_decay)
        if cfg.step_penalty:
            reward = reward - cfg.step_penalty * acting.to(torch.float32)
        still = acting & ~reached
        truncated = still & (self.t >= cfg.horizon).unsqueeze(-1)
        self.alive = still & ~truncated
        self.success = self.success | reached
        self.last_action = torch.where(acting, actions + 1, self.last_action)
        self.episode_return = self.episode_return + reward
        self.episode_length = self.episode_length + acting.to(torch.int64)
        return reward, reached, truncated

    def observe(self) -> torch.Tensor:
        cfg = self.config
        return observe(self.code, self.pos, self.alive, self.last_action, self.tables, self.pad,
                       cfg.see_through_walls, cfg.observe_position, cfg.observe_last_action)

    def distance_to_goal(self) -> torch.Tensor:
        """BFS steps (B, N) from each agent's square to the goal."""
        W = self.config.grid_shape[1]
        return self.distance.gather(1, self.pos[..., 0] * W + self.pos[..., 1]).to(torch.int64)
