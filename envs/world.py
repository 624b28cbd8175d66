"""`World`: the state of B mazes x N agents as arrays, advanced by envs.rules.

This is the one implementation of the game; `MazeEnv` drives it with B = 1 on numpy
arrays and `BatchedMazeEnv` with any B on torch tensors, on any device (the rules
run on either backend, see envs.arrays).

Seeding: maze b plays the *layout stream* `(seed, maze_index + b)`; the k-th layout
of a stream is generated from `SeedSequence([seed, stream, k])`, where `seed` is
`config.layout_seed` if set, else the seed given to `reset`. So a batched maze b
can be replayed alone in `MazeEnv(..., maze_index=b)` with the same seed.
"""
from __future__ import annotations

import numpy as np
import torch

from envs import arrays
from envs.config import MazeConfig
from envs.layouts import Layout
from envs.prefetch import LayoutPrefetcher, layout_for
from envs.rules import (ObservationTables, goal_reward, layout_planes, move, observe, pack_cells,
                        window_squares)


class World:
    """State arrays of B mazes. Updates replace arrays instead of mutating them, so
    an array handed out (in an info dict) keeps its value after later steps.

    backend: "torch" (tensors on `device`) or "numpy" (CPU only; several times faster
    for one maze, where torch's fixed cost per operation dominates)."""

    def __init__(self, config: MazeConfig, n_mazes: int, device="cpu", maze_index: int = 0,
                 layout_workers: int = 0, backend: str = "torch"):
        if n_mazes < 1:
            raise ValueError(f"n_mazes={n_mazes} must be >= 1")
        if layout_workers < 0:
            raise ValueError(f"layout_workers={layout_workers} must be >= 0 (0: make layouts in place)")
        if backend not in arrays.BACKENDS:
            raise ValueError(f"backend={backend!r}; allowed: {list(arrays.BACKENDS)}")
        self.device = torch.device(device)
        if backend == "numpy" and self.device.type != "cpu":
            raise ValueError(f"device={device!r} with backend='numpy'; allowed: 'cpu' (or backend='torch')")
        self.config = config
        self.backend = backend
        self.xp = torch if backend == "torch" else np
        self.B, self.N = n_mazes, config.n_agents
        self.maze_index = maze_index
        self.pad = config.view_size // 2
        H, W = config.grid_shape
        Hp, Wp = H + 2 * self.pad, W + 2 * self.pad
        B, N, xp = self.B, self.N, self.xp
        self.tables = ObservationTables.build(config.view_size, Wp, self.device, backend)
        self.code = self._full((B, Hp, Wp), 0, xp.uint8)
        self.distance = self._full((B, H, W), -1, xp.int64)
        self.goal = self._full((B, 2), 0, xp.int64)
        self.spawns = self._full((B, N, 2), 0, xp.int64)
        self.pos = self._full((B, N, 2), 0, xp.int64)
        self.alive = self._full((B, N), False, xp.bool)
        self.success = self._full((B, N), False, xp.bool)
        self.last_action = self._full((B, N), 0, xp.int64)
        self.t = self._full((B,), 0, xp.int64)
        self.episode = self._full((B,), -1, xp.int64)
        self.layout_index = self._full((B,), -1, xp.int64)
        self.episode_return = self._full((B, N), 0.0, xp.float32)
        self.episode_length = self._full((B, N), 0, xp.int64)
        self.start_distance = self._full((B, N), 0, xp.int64)
        # Squares each agent has stood on this episode (B, N, H * W); only kept when the
        # explore bonus pays for new ones.
        self.visited = self._full((B, N, H * W), False, xp.bool) if config.explore_bonus else None
        # What each square's window shows of the layout (see rules.layout_planes), made once
        # per layout on numpy, where one maze is observed many times; torch batches
        # recompute it every step rather than hold B times this.
        self.layout_view = None
        if backend == "numpy":
            self.layout_view = self._full((config.n_channels, B, H * W, config.view_size ** 2), 0, xp.uint8)
        self.layouts: list[Layout | None] = [None] * B  # CPU copies, for rendering
        self.seed: int | None = None
        self.prefetcher = LayoutPrefetcher(config, layout_workers) if layout_workers else None

    def _full(self, shape: tuple[int, ...], value, dtype):
        """A new array of the world's backend and device."""
        if self.backend == "numpy":
            return np.full(shape, value, dtype=dtype)
        return torch.full(shape, value, dtype=dtype, device=self.device)

    # ------------------------------------------------------------------ episodes

    def seed_streams(self, seed: int | None) -> None:
        """Restart every layout stream from `seed` (None: fresh OS entropy)."""
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.seed = int(seed)
        self.episode = self.xp.full_like(self.episode, -1)
        self.layout_index = self.xp.full_like(self.layout_index, -1)
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

    def reset(self, mask: arrays.Array | None = None) -> arrays.Array:
        """Start the next episode in the mazes of `mask` (B,) (all if None).

        Returns `layout_changed (B,)`: mazes that got a new layout. Layouts are made
        on the CPU (only for mazes whose layout changes) and uploaded.
        """
        xp = self.xp
        if self.seed is None:
            self.seed_streams(None)
        if mask is None:
            mask = self._full((self.B,), True, xp.bool)
        per = self.config.episodes_per_layout
        episode = xp.where(mask, self.episode + 1, self.episode)
        new_index = episode // per if per is not None else xp.zeros_like(episode)
        changed = mask & (new_index != self.layout_index)
        rows = arrays.nonzero(changed)
        if rows:
            self._load(rows, self._layouts([self.maze_index + b for b in rows], new_index[rows].tolist()))
        self.episode, self.layout_index = episode, xp.where(mask, new_index, self.layout_index)
        m2 = mask[:, None]
        self.pos = xp.where(m2[..., None], self.spawns, self.pos)
        self.alive = self.alive | m2
        self.success = self.success & ~m2
        self.last_action = xp.where(m2, 0, self.last_action)
        self.t = xp.where(mask, 0, self.t)
        self.episode_return = xp.where(m2, 0.0, self.episode_return)
        self.episode_length = xp.where(m2, 0, self.episode_length)
        self.start_distance = xp.where(m2, self.distance_to_goal(), self.start_distance)
        if self.visited is not None:
            self.visited, _ = self._visit(self.visited & ~mask[:, None, None])
        return changed

    def _visit(self, visited: arrays.Array) -> tuple[arrays.Array, arrays.Array]:
        """`visited` with every agent's square marked, and whether that square was new (B, N)."""
        flat = visited.reshape(self.B * self.N, -1)
        square = (self.pos[..., 0] * self.config.grid_shape[1] + self.pos[..., 1]).reshape(-1, 1)
        new = ~arrays.gather(flat, square).reshape(self.B, self.N)
        return arrays.put(flat, square, True).reshape(visited.shape), new

    def _load(self, rows: list[int], layouts: list[Layout]) -> None:
        """Install `layouts` in mazes `rows`: stacked on the CPU, one upload per field."""
        for b, layout in zip(rows, layouts):
            self.layouts[b] = layout

        def upload(fields):
            return arrays.from_numpy(np.stack(fields), self.backend, self.device)
        rows = arrays.from_numpy(np.array(rows), self.backend, self.device)
        self.code[rows] = upload([pack_cells(l.walls, l.landmarks, l.goal, self.pad) for l in layouts])
        self.distance[rows] = upload([l.distance.astype(np.int64) for l in layouts])
        self.goal[rows] = upload([l.goal for l in layouts])
        self.spawns[rows] = upload([l.spawns for l in layouts])
        if self.layout_view is not None:
            H, W = self.config.grid_shape
            every = np.stack(np.divmod(np.arange(H * W), W), axis=-1)          # (H*W, 2) row, col
            code = self.code[rows]
            squares = window_squares(np.broadcast_to(every, (len(rows), H * W, 2)), code, self.tables)
            cfg = self.config
            self.layout_view[:, rows] = layout_planes(code, squares, self.tables, cfg.see_through_walls,
                                                      cfg.n_channels)

    # ------------------------------------------------------------------ stepping

    def step(self, actions: arrays.Array):
        """Advance every maze one step. Returns reward (B, N) float32 and
        terminated, truncated (B, N) bool for the agents that acted."""
        cfg, xp = self.config, self.xp
        acting = self.alive
        self.pos = move(self.pos, actions, acting, self.code, self.goal, self.pad, cfg.agents_block)
        self.t = self.t + 1
        reached = acting & (self.pos == self.goal[:, None]).all(-1)
        reward = goal_reward(reached, self.t, cfg.horizon, cfg.reward_decay)
        if cfg.step_penalty:
            reward = reward - cfg.step_penalty * arrays.cast(acting, xp.float32)
        if self.visited is not None:
            self.visited, new = self._visit(self.visited)
            reward = reward + cfg.explore_bonus * arrays.cast(acting & new, xp.float32)
        still = acting & ~reached
        truncated = still & (self.t >= cfg.horizon)[:, None]
        self.alive = still & ~truncated
        self.success = self.success | reached
        self.last_action = xp.where(acting, actions + 1, self.last_action)
        self.episode_return = self.episode_return + reward
        self.episode_length = self.episode_length + acting  # bool counts as 0/1
        return reward, reached, truncated

    def observe(self) -> arrays.Array:
        cfg = self.config
        return observe(self.code, self.pos, self.alive, self.last_action, self.tables, self.pad,
                       cfg.see_through_walls, cfg.observe_position, cfg.observe_last_action,
                       self.layout_view)

    def distance_to_goal(self) -> arrays.Array:
        """BFS steps (B, N) from each agent's square to the goal."""
        return arrays.at(self.distance, self.pos[..., 0], self.pos[..., 1])
