"""One policy shared by every agent: `MazeEnv` through SuperSuit into Stable-Baselines3.

SuperSuit's parameter-sharing recipe is `black_death_v3(env)` ->
`pettingzoo_env_to_vec_env_v1` -> `concat_vec_envs_v1(..., base_class="stable_baselines3")`:
each agent of each maze becomes one slot of an SB3 vector env. With SuperSuit 3.11 and
SB3 2.9 two bugs of theirs break it here, and this module works around both:

1. `black_death_v3` ends an episode only when the last step's agents are all terminated
   *and* truncated. Here agents leave one by one at the goal (terminated only), so the
   episode never ends and the next step reaches an env with no live agents
   (`RuntimeError: step() called with no live agents`). `BlackDeath` pads finished agents
   the same way (zero observation, zero reward) but ends the episode when no agent is left.
2. SB3's `PPO(..., seed=s)` calls the vector env's `seed`, which SuperSuit's concatenated
   env (a Gymnasium 1.x vector env) lacks. `SeedAtNextReset` keeps the seed for the next
   reset, as SB3's own vector envs do.

`shared_policy_vec_env(env, n_envs)` builds the recipe with both fixes. SuperSuit and SB3 are
optional: they are imported only when it is called.
"""
from __future__ import annotations

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper


class BlackDeath(BaseParallelWrapper):
    """Every possible agent acts and is observed until the whole episode ends.

    An agent that has left gets a zero observation, zero reward and an empty info, and its
    actions are ignored. Terminations and truncations stay False for everyone until no agent
    of the wrapped env is left; then the step reports every agent as done in both.
    """

    def __init__(self, env: ParallelEnv):
        super().__init__(env)
        self.agents: list = []

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.possible_agents)
        return self._pad(obs, self._blank_obs), self._pad(infos, lambda a: {})

    def step(self, actions: dict):
        if not self.agents:
            raise RuntimeError("step() called after the episode ended: call reset() first")
        live = {a: actions[a] for a in self.env.agents if a in actions}  # the env names missing ones
        obs, rewards, _, _, infos = self.env.step(live)
        over = not self.env.agents  # the wrapped env's own end: nobody left
        done = {a: over for a in self.agents}
        padded = (self._pad(obs, self._blank_obs), self._pad(rewards, lambda a: 0.0), done, dict(done),
                  self._pad(infos, lambda a: {}))
        if over:
            self.agents = []
        return padded

    def _pad(self, values: dict, blank) -> dict:
        return {a: values[a] if a in values else blank(a) for a in self.agents}

    def _blank_obs(self, agent) -> np.ndarray:
        space = self.observation_space(agent)
        return np.zeros(space.shape, dtype=space.dtype)


class SeedAtNextReset:
    """A SuperSuit vector env with the `seed(seed)` SB3 calls: the seed goes to the next reset.

    Everything else is passed through to the wrapped env.
    """

    def __init__(self, venv):
        self.venv = venv
        self._next_seed: int | None = None

    def __getattr__(self, name: str):
        if name == "venv":  # not set yet (unpickling): avoid recursing into ourselves
            raise AttributeError(name)
        return getattr(self.venv, name)

    def seed(self, seed: int | None = None) -> list:
        """Seed the next reset; SuperSuit gives its copy i of the env `seed + i`."""
        self._next_seed = seed
        return [seed] * self.venv.num_envs

    def reset(self, seed: int | None = None, options: dict | None = None):
        seed = seed if seed is not None else self._next_seed
        self._next_seed = None
        return self.venv.reset(seed=seed, options=options)


def shared_policy_vec_env(env: ParallelEnv, n_envs: int = 1, num_cpus: int = 0):
    """An SB3 `VecEnv` over `n_envs` copies of `env`, one slot per agent (`n_envs * n_agents`).

    The copies are SuperSuit's (pickled once each); `num_cpus` > 0 steps them in that many
    processes. Episode returns and lengths per agent slot are recorded by SB3's `VecMonitor`.
    """
    if not isinstance(n_envs, int) or isinstance(n_envs, bool) or n_envs < 1:
        raise ValueError(f"n_envs={n_envs!r} must be an int >= 1")
    if not isinstance(num_cpus, int) or isinstance(num_cpus, bool) or num_cpus < 0:
        raise ValueError(f"num_cpus={num_cpus!r} must be an int >= 0")
    import supersuit
    from stable_baselines3.common.vec_env import VecMonitor
    from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper

    per_agent = supersuit.pettingzoo_env_to_vec_env_v1(BlackDeath(env))
    copies = supersuit.concat_vec_envs_v1(per_agent, n_envs, num_cpus=num_cpus, base_class="gymnasium")
    return VecMonitor(SB3VecEnvWrapper(SeedAtNextReset(copies)))
