"""Bad configuration and bad actions fail at once with a message naming the value."""
import subprocess
import sys

import numpy as np
import pytest

from envs import BatchedMazeEnv, MazeConfig, MazeEnv, make


@pytest.mark.parametrize("options,match", [
    (dict(view_size=4), "view_size=4 must be odd"),
    (dict(view_size=1), "view_size=1"),
    (dict(rows=1), "too small"),
    (dict(n_agents=40, rows=3, cols=3), "n_agents=40 does not fit"),
    (dict(n_agents=0), r"n_agents=0 is outside \[1, 255\]"),
    (dict(generator="hexagon"), "unknown generator 'hexagon'"),
    (dict(braid=2.0), r"braid=2.0 is outside \[0, 1\]"),
    (dict(n_landmarks=99), "n_landmarks=99"),
    (dict(max_steps=0), "max_steps=0"),
    (dict(step_penalty=-1.0), "step_penalty=-1.0"),
    (dict(explore_bonus=-0.1), "explore_bonus=-0.1"),
    (dict(episodes_per_layout=0), "episodes_per_layout=0"),
    (dict(spawn="edge"), "unknown spawn 'edge'"),
])
def test_bad_config(options, match):
    with pytest.raises(ValueError, match=match):
        MazeConfig(**options)
    with pytest.raises(ValueError, match=match):
        MazeEnv(**options)
    with pytest.raises(ValueError, match=match):
        BatchedMazeEnv(2, **options)


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match="view_sise"):
        MazeEnv(view_sise=5)


def test_bad_render_mode():
    with pytest.raises(ValueError, match="render_mode='video'"):
        MazeEnv(render_mode="video")


@pytest.mark.parametrize("actions,match", [
    ({"agent_0": 5, "agent_1": 0}, r"action 5 for agent_0 is outside \[0, 5\)"),
    ({"agent_0": -1, "agent_1": 0}, "action -1"),
    ({"agent_0": 1.5, "agent_1": 0}, "must be an int"),
    ({"agent_0": 0}, r"no action for live agents \['agent_1'\]"),
    ({"agent_0": 0, "agent_1": 0, "agent_7": 0}, "agent_7"),
])
def test_bad_pettingzoo_actions(actions, match):
    env = MazeEnv(n_agents=2)
    env.reset(seed=0)
    before = env._world.pos.copy()
    with pytest.raises(ValueError, match=match):
        env.step(actions)
    assert (env._world.pos == before).all()  # nothing moved


def test_numpy_actions_act_as_the_same_python_ints():
    """Policies hand back numpy scalars and 0-d arrays; each must move an agent exactly as
    the equal int does (not be refused, nor read as another action)."""
    plain, numpy = MazeEnv(n_agents=2), MazeEnv(n_agents=2)
    plain.reset(seed=0)
    numpy.reset(seed=0)
    start = plain._world.pos.copy()
    for a, b in [(1, 2), (3, 4), (2, 1), (4, 3), (1, 1), (2, 2)]:
        obs, rewards, _, _, _ = plain.step({"agent_0": a, "agent_1": b})
        obs_np, rewards_np, _, _, _ = numpy.step({"agent_0": np.int64(a), "agent_1": np.array(b, dtype=np.int32)})
        assert (numpy._world.pos == plain._world.pos).all()
        assert rewards_np == rewards
        assert all(np.array_equal(obs_np[agent], obs[agent]) for agent in obs)
    assert (plain._world.pos != start).any(), "the actions should have moved an agent"


def test_registry():
    assert isinstance(make("maze", n_agents=2), MazeEnv)
    with pytest.raises(ValueError, match="unknown env 'mase'"):
        make("mase")


def test_layout_workers_without_main_guard_explain_themselves(tmp_path):
    """Spawned workers re-import the main script; an unguarded one gets a clear message."""
    script = tmp_path / "unguarded.py"
    script.write_text("from envs import BatchedMazeEnv\n"
                      "BatchedMazeEnv(2, layout_workers=1).reset(seed=0)\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert 'if __name__ == "__main__":' in run.stderr.splitlines()[-1]
