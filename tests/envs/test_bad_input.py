"""Bad configuration and bad actions fail at once with a message naming the value."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from envs import BatchedMazeEnv, MazeConfig, MazeEnv, MazeGymEnv, make, make_layout


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


# Every entry point a user hands a seed to; each resets (or builds) with that seed.
SEEDED = {
    "MazeEnv.reset": lambda seed: MazeEnv(n_agents=2).reset(seed=seed),
    "MazeGymEnv.reset": lambda seed: MazeGymEnv().reset(seed=seed),
    "BatchedMazeEnv.reset": lambda seed: BatchedMazeEnv(2, n_agents=2).reset(seed=seed),
    "make_layout": lambda seed: make_layout("dfs", 3, 3, 1, seed),
}


@pytest.mark.parametrize("entry", SEEDED)
@pytest.mark.parametrize("seed,error,match", [
    (1.5, TypeError, r"seed=1\.5 \(float\) is not a seed; allowed: a non-negative int"),
    ("abc", TypeError, r"seed='abc' \(str\) is not a seed; allowed: a non-negative int"),
    (True, TypeError, r"seed=True \(bool\) is not a seed; allowed: a non-negative int"),
    (-1, ValueError, r"seed=-1 is negative; allowed: a non-negative int, or None"),
])
def test_bad_seed_is_named(entry, seed, error, match):
    with pytest.raises(error, match=match):
        SEEDED[entry](seed)


@pytest.mark.parametrize("entry", SEEDED)
@pytest.mark.parametrize("seed", [0, np.int64(3), None])
def test_good_seeds_still_work(entry, seed):
    SEEDED[entry](seed)


def test_numpy_seed_plays_the_same_maze_as_the_int():
    a, b = MazeGymEnv(), MazeGymEnv()
    assert a.reset(seed=3)[1]["position"] == b.reset(seed=np.int64(3))[1]["position"]
    assert (a._env.layout.walls == b._env.layout.walls).all()


@pytest.mark.parametrize("layout_seed,error,match", [
    (-1, ValueError, r"layout_seed=-1 is negative; allowed: .* or None for following the reset seed"),
    (1.5, TypeError, r"layout_seed=1\.5 must be an int"),
])
def test_bad_layout_seed(layout_seed, error, match):
    with pytest.raises(error, match=match):
        MazeConfig(layout_seed=layout_seed)


def test_cuda_device_without_cuda_names_the_device(monkeypatch):
    """Checked in the constructor, before torch's own assertion ('Torch not compiled with CUDA
    enabled'); CUDA is hidden so the check runs on GPU machines too."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0", torch.device("cuda")):
        with pytest.raises(ValueError, match=r"device=.*cuda.* needs CUDA, but CUDA is not available "
                                             r"on this machine; allowed here: device='cpu'"):
            BatchedMazeEnv(2, device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_device_on_a_machine_without_cuda():
    with pytest.raises(ValueError, match="device='cuda' needs CUDA, but CUDA is not available"):
        BatchedMazeEnv(2, device="cuda")


def test_unparseable_device_is_named():
    with pytest.raises(ValueError, match=r"device='gpu' is not a torch device; allowed: 'cpu', "
                                         r"or 'cuda' / 'cuda:N' where CUDA is available"):
        BatchedMazeEnv(2, device="gpu")
    assert BatchedMazeEnv(2, device="cpu").device == torch.device("cpu")


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
