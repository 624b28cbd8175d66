"""MazeGymEnv against Gymnasium's own checker."""
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs import MazeGymEnv


@pytest.mark.parametrize("options", [dict(), dict(view_size=7, see_through_walls=True, n_landmarks=3),
                                     dict(observe_position=True, observe_last_action=True)])
def test_check_env(options):
    check_env(MazeGymEnv(n_agents=1, **options), skip_render_check=False)


def test_rendering_and_single_agent_only():
    env = MazeGymEnv(n_agents=1, render_mode="ansi")
    env.reset(seed=0)
    assert "G" in env.render()
    with pytest.raises(ValueError, match="n_agents=3"):
        MazeGymEnv(n_agents=3)


def test_episode_runs_to_truncation():
    env = MazeGymEnv(n_agents=1, max_steps=12)
    obs, info = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for t in range(12):
        obs, reward, term, trunc, info = env.step(int(rng.integers(5)))
        if term or trunc:
            break
    assert term or trunc
