"""`MazeGymEnv`: the single-agent Gymnasium view of the maze world.

| What | Value |
|---|---|
| API | `gymnasium.Env` |
| Action | `Discrete(5)`: 0 stay, 1 north, 2 east, 3 south, 4 west |
| Observation | `Box(0, 255, (C, V, V), uint8)`, as in `MazeEnv` |
| Reward, termination, info | as in `MazeEnv` for its single agent |

It wraps a one-agent `MazeEnv`, so every rule and option is shared; `n_agents` defaults
to 1 here and any other value is refused. Standard wrappers and learners work unchanged:
`RecordEpisodeStatistics`, SB3's `Monitor` and `PPO("MlpPolicy", FlattenObservation(env))`.
"""
from __future__ import annotations

import gymnasium as gym

from envs.checks import check_seed
from envs.config import MazeConfig
from envs.maze_env import MazeEnv


class MazeGymEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array", "ansi", "human"], "render_fps": 5}

    def __init__(self, config: MazeConfig | None = None, render_mode: str | None = None, **options):
        # One agent unless told otherwise; MazeConfig's own default (4) is for the multi-agent envs.
        config = MazeConfig.from_kwargs(config if config is not None else MazeConfig(n_agents=1), **options)
        if config.n_agents != 1:
            raise ValueError(f"MazeGymEnv is single-agent: n_agents={config.n_agents}, allowed: 1 "
                             "(use MazeEnv for several agents)")
        self._env = MazeEnv(config, render_mode=render_mode)
        self.render_mode = render_mode
        self._agent = self._env.possible_agents[0]
        self.observation_space = self._env.observation_space(self._agent)
        self.action_space = self._env.action_space(self._agent)

    @property
    def config(self) -> MazeConfig:
        return self._env.config

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        # A Python int: gymnasium's seeding refuses numpy integers, which MazeEnv takes.
        seed = check_seed("seed", seed)
        super().reset(seed=seed)
        obs, infos = self._env.reset(seed=seed, options=options)
        return obs[self._agent], infos[self._agent]

    def step(self, action):
        obs, rew, term, trunc, info = self._env.step({self._agent: action})
        a = self._agent
        return obs[a], rew[a], term[a], trunc[a], info[a]

    def render(self):
        return self._env.render()

    def close(self):
        self._env.close()
