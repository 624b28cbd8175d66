"""The rules run on numpy (one-maze envs) and torch (batched env) and must agree exactly."""
import numpy as np
import pytest
import torch

from envs import MazeConfig, MazeEnv
from envs.rules import observe
from envs.world import World

CONFIGS = [
    dict(n_agents=4, n_landmarks=5, braid=0.4, max_steps=25),
    dict(n_agents=3, agents_block=True, see_through_walls=True, view_size=7, generator="rooms",
         spawn="random", episodes_per_layout=2, max_steps=20),
    dict(n_agents=2, observe_position=True, observe_last_action=True, view_size=3, step_penalty=0.05,
         explore_bonus=0.1, reward_decay=False, generator="open", rows=3, cols=5, max_steps=15),
]


def as_numpy(x):
    return x.numpy() if isinstance(x, torch.Tensor) else x


@pytest.mark.parametrize("options", CONFIGS)
def test_numpy_world_matches_torch_world(options):
    """Three mazes at once, so numpy also runs the B > 1 paths MazeEnv never takes."""
    config = MazeConfig(**options)
    worlds = {backend: World(config, 3, backend=backend) for backend in ("torch", "numpy")}
    for world in worlds.values():
        world.seed_streams(5)
        world.reset()
    rng = np.random.default_rng(0)
    resets = 0
    for t in range(150):
        actions = rng.integers(0, 5, size=(3, config.n_agents))
        results = {name: world.step(torch.from_numpy(actions) if name == "torch" else actions)
                   for name, world in worlds.items()}
        for a, b in zip(results["torch"], results["numpy"]):
            np.testing.assert_array_equal(as_numpy(a), b, err_msg=f"step {t}")
        done = ~worlds["numpy"].alive.any(-1)
        resets += int(done.sum())
        worlds["torch"].reset(torch.from_numpy(done))
        worlds["numpy"].reset(done)
        for field in ("pos", "alive", "episode", "layout_index", "episode_length"):
            np.testing.assert_array_equal(as_numpy(getattr(worlds["torch"], field)),
                                          getattr(worlds["numpy"], field), err_msg=f"{field} at step {t}")
        np.testing.assert_array_equal(as_numpy(worlds["torch"].observe()), worlds["numpy"].observe(),
                                      err_msg=f"windows at step {t}")
        np.testing.assert_array_equal(as_numpy(worlds["torch"].distance_to_goal()),
                                      worlds["numpy"].distance_to_goal())
    assert resets >= 6  # new layouts came in through both backends


@pytest.mark.parametrize("options", CONFIGS)
def test_cached_layout_view_matches_windows_made_afresh(options):
    """The numpy world keeps every square's view of the layout; it must equal the direct path."""
    config = MazeConfig(**options)
    world = World(config, 1, backend="numpy")
    world.seed_streams(3)
    world.reset()
    floor = np.argwhere(~world.layouts[0].walls)
    for square in floor:  # agent 0 everywhere, the others where they spawned
        world.pos = world.pos.copy()
        world.pos[0, 0] = square
        args = (world.code, world.pos, world.alive, world.last_action, world.tables, world.pad,
                config.see_through_walls, config.observe_position, config.observe_last_action)
        np.testing.assert_array_equal(observe(*args, layout_view=world.layout_view), observe(*args),
                                      err_msg=f"agent 0 at {tuple(square)}")


def test_pettingzoo_env_runs_on_numpy_and_hands_out_independent_views():
    env = MazeEnv(n_agents=3)
    obs, _ = env.reset(seed=0)
    assert env._world.backend == "numpy" and isinstance(obs["agent_0"], np.ndarray)
    assert not np.shares_memory(obs["agent_0"], obs["agent_1"])
    kept = {a: o.copy() for a, o in obs.items()}
    for _ in range(5):
        env.step({a: 1 for a in env.agents})
    for a, o in obs.items():  # later steps never write into observations already returned
        np.testing.assert_array_equal(o, kept[a])


@pytest.mark.parametrize("kwargs,match", [
    (dict(backend="jax"), r"backend='jax'; allowed: \['torch', 'numpy'\]"),
    (dict(backend="numpy", device="cuda"), r"device='cuda' with backend='numpy'; allowed: 'cpu'"),
])
def test_bad_backend_fails_clearly(kwargs, match):
    with pytest.raises(ValueError, match=match):
        World(MazeConfig(), 1, **kwargs)
