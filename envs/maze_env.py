"""`MazeEnv`: several agents in one maze, each with a small egocentric view.

| What | Value |
|---|---|
| API | `pettingzoo.ParallelEnv`; `parallel_env(**kw)` and `env(**kw)` (AEC) as usual |
| Agents | `agent_0 .. agent_{N-1}` (`n_agents`, default 4); an agent that reaches the goal leaves `env.agents` |
| Actions | `Discrete(5)`: 0 stay, 1 north, 2 east, 3 south, 4 west |
| Observation | `Box(0, 255, (C, V, V), uint8)`, channels-first, north-up, centred on the agent (V = `view_size`, default 5) |
| Channels | wall, goal, agents (other live agents on the square), landmark id, outside (beyond the grid), unseen (hidden by a wall when `see_through_walls=False`); optional row, col (`observe_position`) and last_action (`observe_last_action`) |
| Reward | at the goal: 1 - 0.9 t / max_steps (`reward_decay=True`) or 1; minus `step_penalty` every step; plus `explore_bonus` on each square new to the agent this episode |
| Termination | an agent terminates on reaching the goal; all remaining agents truncate at `max_steps` |
| Info | per agent: position (row, col), distance (BFS steps to the goal), success, episode_index (the current episode's number in this maze, from 0), layout_id; no `episode` key, which Gymnasium and SB3 reserve for episode statistics |
| Variants | generators dfs, prim, kruskal, wilson, rooms, open; `braid`; `n_landmarks`; `agents_block`; layout replay with `episodes_per_layout` and `layout_seed` |
| Render modes | `rgb_array`, `ansi`, `human` (prints the ansi picture; safe on headless machines) |

All options are the fields of `envs.MazeConfig`, which documents each one. The
rules live in `envs.rules` and the state in `envs.world.World`, shared with
`BatchedMazeEnv` (here on numpy arrays, there on torch tensors), so the two cannot
drift apart.
"""
from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from envs.checks import check_seed
from envs.config import MazeConfig
from envs.render import render_ansi, render_rgb
from envs.rules import N_ACTIONS
from envs.world import World


class MazeEnv(ParallelEnv):
    metadata = {"name": "shared_memory_maze_v0", "render_modes": ["rgb_array", "ansi", "human"],
                "render_fps": 5, "is_parallelizable": True}

    def __init__(self, config: MazeConfig | None = None, render_mode: str | None = None,
                 maze_index: int = 0, **options):
        """Build from a `MazeConfig` and/or its fields as keyword options.

        maze_index: which layout stream of the seed to play; `BatchedMazeEnv` maze b
            plays stream b, so `MazeEnv(..., maze_index=b)` replays it alone.
        """
        self.config = MazeConfig.from_kwargs(config, **options)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r}; allowed: {self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.possible_agents = [f"agent_{i}" for i in range(self.config.n_agents)]
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        # numpy: torch's fixed cost per operation would dominate arrays this small.
        self._world = World(self.config, n_mazes=1, maze_index=maze_index, backend="numpy")
        self._obs_space = spaces.Box(0, 255, self.config.obs_shape, dtype=np.uint8)
        self._act_space = spaces.Discrete(N_ACTIONS)

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._obs_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Discrete:
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self._index:
            raise KeyError(f"unknown agent {agent!r}; agents are {self.possible_agents}")

    # ------------------------------------------------------------------ API

    def reset(self, seed: int | None = None, options: dict | None = None):
        seed = check_seed("seed", seed)
        world = self._world
        if seed is not None or world.seed is None:
            world.seed_streams(seed)
        world.reset()
        self.agents = list(self.possible_agents)
        return self._observations(self.agents), self._infos(self.agents)

    def step(self, actions: dict):
        if not self.agents:
            raise RuntimeError("step() called with no live agents: call reset() first")
        acting = list(self.agents)
        reward, terminated, truncated = self._world.step(self._action_row(actions, acting))
        # tolist() gives Python floats and bools, the types the API promises.
        reward, terminated, truncated = reward[0].tolist(), terminated[0].tolist(), truncated[0].tolist()
        rows = [self._index[a] for a in acting]
        rewards = {a: reward[i] for a, i in zip(acting, rows)}
        terminations = {a: terminated[i] for a, i in zip(acting, rows)}
        truncations = {a: truncated[i] for a, i in zip(acting, rows)}
        observations = self._observations(acting)
        infos = self._infos(acting)
        self.agents = [a for a, i in zip(acting, rows) if not (terminated[i] or truncated[i])]
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def _action_row(self, actions: dict, acting: list[str]) -> np.ndarray:
        extra = sorted(set(actions) - set(acting))
        if extra:
            raise ValueError(f"actions given for agents that are not live: {extra}; live agents: {acting}")
        missing = [a for a in acting if a not in actions]
        if missing:
            raise ValueError(f"no action for live agents {missing}")
        row = [0] * self.config.n_agents
        for agent, action in actions.items():
            if type(action) is not int:  # plain ints skip the slower checks
                action = _as_int(agent, action)
            if not 0 <= action < N_ACTIONS:
                raise ValueError(f"action {action} for {agent} is outside [0, {N_ACTIONS})")
            row[self._index[agent]] = action
        return np.array([row], dtype=np.int64)

    def _observations(self, agents: list[str]) -> dict[str, np.ndarray]:
        obs = self._world.observe()[0]
        # Views of a fresh array: no two observations overlap, and no later step writes to them.
        return {a: obs[self._index[a]] for a in agents}

    def _infos(self, agents: list[str]) -> dict[str, dict]:
        world = self._world
        pos = world.pos[0].tolist()
        dist = world.distance_to_goal()[0].tolist()
        success = world.success[0].tolist()
        episode, layout_id = int(world.episode[0]), int(world.layout_index[0])
        out = {}
        for a in agents:
            i = self._index[a]
            out[a] = {"position": tuple(pos[i]), "distance": int(dist[i]), "success": bool(success[i]),
                      "episode_index": episode, "layout_id": layout_id}
        return out

    # ------------------------------------------------------------------ pictures

    @property
    def layout(self):
        """The current `envs.layouts.Layout` (walls, landmarks, goal, spawns, distances)."""
        return self._world.layouts[0]

    def render(self):
        if self.render_mode is None:
            return None
        if self.layout is None:
            raise RuntimeError("render() before reset(): there is no maze yet")
        pos, alive = self._world.pos[0], self._world.alive[0]
        if self.render_mode == "rgb_array":
            return render_rgb(self.layout, pos, alive)
        text = render_ansi(self.layout, pos, alive)
        if self.render_mode == "human":
            print(text + "\n")
            return None
        return text

    def close(self):
        pass


def _as_int(agent: str, action) -> int:
    """A numpy integer or 0-d integer array as an int; bools, floats and the rest fail."""
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action.item()
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        raise ValueError(f"action for {agent} must be an int in [0, {N_ACTIONS}), got {action!r}")
    return int(action)


def parallel_env(**kwargs) -> MazeEnv:
    """The parallel env (PettingZoo convention)."""
    return MazeEnv(**kwargs)


def env(**kwargs):
    """The turn-based (AEC) view of the same env (PettingZoo convention)."""
    return parallel_to_aec(MazeEnv(**kwargs))
