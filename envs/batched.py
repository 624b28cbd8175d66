"""`BatchedMazeEnv`: B mazes x N agents stepped as torch tensors, with per-maze autoreset.

| What | Shape and dtype |
|---|---|
| actions | `(B, N)` integer in [0, 5); entries of dead agents are ignored |
| obs | `(B, N, C, V, V)` uint8 (same channels as `MazeEnv`) |
| reward | `(B, N)` float32 |
| terminated, truncated | `(B, N)` bool: this step's outcome for the agents that acted |
| alive | `(B, N)` bool: which agents act on the returned `obs` |

Autoreset: when every agent of a maze has terminated or truncated, the maze starts its
next episode inside the same `step`; the returned `obs` is then the first observation
of the new episode (`info["reset"]` marks those mazes). The finished episode's
per-agent statistics are in `info["episode_return"]`, `["episode_length"]`,
`["episode_success"]` and `["episode_start_distance"]` (BFS steps from the spawn),
valid where `info["reset"]` is set. `info["episode_index"]` and `info["step_index"]` (B,)
number the returned `obs`: the maze's episode and the steps taken in it (0 on its first
observation).

Layouts are generated on the CPU for the mazes whose layout changes and uploaded;
stepping and observing run as tensor ops on `device` with no Python loop over mazes
or agents. Maze b plays layout stream b of the seed, so `MazeEnv(seed=..., maze_index=b)`
replays it alone (see envs.world).
"""
from __future__ import annotations

import torch

from envs.checks import check_device, check_seed
from envs.config import MazeConfig
from envs.rules import N_ACTIONS
from envs.world import World


class BatchedMazeEnv:
    def __init__(self, n_mazes: int, config: MazeConfig | None = None, device="cpu",
                 validate_actions: bool = True, layout_workers: int = 0, **options):
        """validate_actions: check shape and range of every action (one host sync per
        step on a GPU; turn off in trusted, speed-critical loops).
        layout_workers: processes that make each maze's next layout ahead of time (see
        envs.prefetch); 0 makes layouts in place. Results are identical either way; use a
        few on a GPU, where layout generation otherwise bounds the step rate. Call
        `close()` to stop them. Workers are spawned processes, so the main script must guard
        its entry point with `if __name__ == "__main__":`."""
        self.config = MazeConfig.from_kwargs(config, **options)
        self.n_mazes, self.n_agents = n_mazes, self.config.n_agents
        self.device = check_device(device)
        self.validate_actions = validate_actions
        self._world = World(self.config, n_mazes, self.device, layout_workers=layout_workers)

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return self.config.obs_shape

    @property
    def n_actions(self) -> int:
        return N_ACTIONS

    @property
    def world(self) -> World:
        """The underlying state (positions, layouts, counters), read-only by convention."""
        return self._world

    def close(self) -> None:
        """Stop the layout workers, if any."""
        self._world.close()

    def reset(self, seed: int | None = None):
        """Restart every maze from layout 0 of its stream. Returns obs, info."""
        self._world.seed_streams(check_seed("seed", seed))
        changed = self._world.reset()
        return self._world.observe(), self._info(changed, changed)

    def step(self, actions: torch.Tensor):
        """Returns obs, reward, terminated, truncated, info (see the module doc)."""
        world = self._world
        if world.seed is None:
            raise RuntimeError("step() before reset(): call reset(seed=...) first")
        if self.validate_actions:
            self._check(actions)
        reward, terminated, truncated = world.step(actions.to(self.device, torch.int64))
        reset = ~world.alive.any(-1)  # every agent ended: the maze begins its next episode
        # World replaces its tensors rather than mutating them, so these stay valid.
        finished = {
            "episode_return": world.episode_return,
            "episode_length": world.episode_length,
            "episode_success": world.success,
            "episode_start_distance": world.start_distance,
        }
        changed = world.reset(reset)
        info = self._info(reset, changed)
        info.update(finished)
        return world.observe(), reward, terminated, truncated, info

    def _check(self, actions: torch.Tensor) -> None:
        shape = (self.n_mazes, self.n_agents)
        if not isinstance(actions, torch.Tensor):
            raise TypeError(f"actions must be a torch.Tensor of shape {shape}, got {type(actions).__name__}")
        if tuple(actions.shape) != shape:
            raise ValueError(f"actions have shape {tuple(actions.shape)}; expected (n_mazes, n_agents) = {shape}")
        if actions.dtype.is_floating_point or actions.dtype == torch.bool or actions.is_complex():
            raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
        bad = (actions < 0) | (actions >= N_ACTIONS)
        if bool(bad.any()):
            value = int(actions[bad][0])
            raise ValueError(f"action {value} is outside [0, {N_ACTIONS})")

    def _info(self, reset: torch.Tensor, layout_changed: torch.Tensor) -> dict[str, torch.Tensor]:
        w = self._world
        return {
            "alive": w.alive,
            "position": w.pos,
            "distance": w.distance_to_goal(),
            "success": w.success,
            "episode_index": w.episode,
            "step_index": w.t,
            "layout_id": w.layout_index,
            "reset": reset,
            "layout_changed": layout_changed,
        }
