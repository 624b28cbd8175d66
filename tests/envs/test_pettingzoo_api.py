"""MazeEnv against PettingZoo's own checkers and the API details peers got wrong."""
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test, render_test
from pettingzoo.utils.conversions import parallel_to_aec

from envs import MazeEnv
from envs.maze_env import env as aec_env
from envs.maze_env import parallel_env
from tests.envs.reference import relaxation_distances

CONFIGS = [
    dict(n_agents=1, view_size=3, see_through_walls=True),
    dict(n_agents=4, view_size=5, see_through_walls=False, n_landmarks=4, braid=0.5),
    dict(n_agents=4, view_size=7, see_through_walls=False, agents_block=True, generator="rooms"),
    dict(n_agents=2, view_size=5, observe_position=True, observe_last_action=True, max_steps=20),
]


@pytest.mark.parametrize("options", CONFIGS)
def test_parallel_api(options):
    parallel_api_test(MazeEnv(**options), num_cycles=300)


@pytest.mark.parametrize("options", CONFIGS)
def test_parallel_seed(options):
    parallel_seed_test(lambda: MazeEnv(**options), num_cycles=50)


@pytest.mark.parametrize("options", CONFIGS[:2])
def test_render_modes(options):
    render_test(lambda render_mode=None: parallel_to_aec(MazeEnv(render_mode=render_mode, **options)))


def test_human_render_is_headless_safe(capsys):
    env = MazeEnv(render_mode="human")
    env.reset(seed=0)
    env.step({a: 0 for a in env.agents})
    assert "#" in capsys.readouterr().out


def test_rgb_render_shape():
    env = MazeEnv(render_mode="rgb_array", rows=3, cols=5)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (7 * 8, 11 * 8, 3) and frame.dtype == np.uint8


def run_episode(env, seed, steps, action_seed):
    rng = np.random.default_rng(action_seed)
    trace = [env.reset(seed=seed)]
    for _ in range(steps):
        if not env.agents:
            trace.append(env.reset())
            continue
        actions = {a: int(rng.integers(5)) for a in env.agents}
        trace.append(env.step(actions))
    return trace


def test_same_seed_same_everything_for_500_steps():
    """pettingzoo 1.27's seed test compares one step only; we compare every step."""
    options = dict(n_agents=3, n_landmarks=3, braid=0.3, max_steps=40, agents_block=True)
    a = run_episode(MazeEnv(**options), 11, 500, 5)
    b = run_episode(MazeEnv(**options), 11, 500, 5)
    for step_a, step_b in zip(a, b):
        for part_a, part_b in zip(step_a, step_b):
            assert part_a.keys() == part_b.keys()
            for k in part_a:
                if isinstance(part_a[k], np.ndarray):
                    np.testing.assert_array_equal(part_a[k], part_b[k])
                else:
                    assert part_a[k] == part_b[k]
    c = run_episode(MazeEnv(**options), 12, 5, 5)
    assert not np.array_equal(a[0][0]["agent_0"], c[0][0]["agent_0"]) or a[0][1] != c[0][1]


def test_api_details():
    env = MazeEnv(n_agents=2)
    obs, infos = env.reset(seed=0, options={"unknown_key": 1})
    assert set(infos) == set(env.possible_agents)
    assert env.observation_space("agent_0") is env.observation_space("agent_0")
    assert env.action_space("agent_1") is env.action_space("agent_1")
    assert obs["agent_0"].dtype == env.observation_space("agent_0").dtype
    _, _, term, trunc, _ = env.step({"agent_0": 0, "agent_1": 0})
    assert all(type(v) is bool for v in list(term.values()) + list(trunc.values()))


def test_agents_leave_at_the_goal_and_never_return():
    env = MazeEnv(n_agents=2, rows=3, cols=3, max_steps=500)
    env.reset(seed=4)
    dist = env.layout.distance
    finished, steps = set(), 0
    while env.agents:
        # Walk each live agent greedily down the BFS distance field.
        actions = {}
        for a in env.agents:
            r, c = env._world.pos[0, int(a[-1])].tolist()
            moves = {1: (r - 1, c), 2: (r, c + 1), 3: (r + 1, c), 4: (r, c - 1)}
            actions[a] = min(moves, key=lambda m: dist[moves[m]] if dist[moves[m]] >= 0 else 10**9)
        _, rewards, term, trunc, _ = env.step(actions)
        steps += 1
        for a, done in term.items():
            if done:
                assert rewards[a] > 0 and a not in env.agents
                finished.add(a)
        assert not finished & set(env.agents)
    assert finished == set(env.possible_agents)


def test_truncation_at_max_steps():
    env = MazeEnv(n_agents=2, max_steps=7)
    env.reset(seed=0)
    for t in range(7):
        _, rewards, term, trunc, _ = env.step({a: 0 for a in env.agents})
    assert all(trunc.values()) and not any(term.values()) and env.agents == []


def test_reward_schedule():
    env = MazeEnv(n_agents=1, rows=2, cols=2, max_steps=10, reward_decay=True, step_penalty=0.01,
                  goal=(1, 3), spawn="random")
    env.reset(seed=0)
    dist = env.layout.distance
    total, t = 0.0, 0
    while env.agents:
        r, c = env._world.pos[0, 0].tolist()
        moves = {1: (r - 1, c), 2: (r, c + 1), 3: (r + 1, c), 4: (r, c - 1)}
        a = min(moves, key=lambda m: dist[moves[m]] if dist[moves[m]] >= 0 else 10**9)
        _, rew, term, _, _ = env.step({"agent_0": a})
        t += 1
        total = rew["agent_0"]
    assert term["agent_0"] and total == pytest.approx(1 - 0.9 * t / 10 - 0.01)


def test_explore_bonus_pays_each_new_square_once_per_episode():
    # Reference: each agent's visited squares as a Python set, read from info positions.
    bonus = 0.05
    env = MazeEnv(n_agents=3, rows=3, cols=3, max_steps=40, reward_decay=False, explore_bonus=bonus,
                  episodes_per_layout=2, spawn="random")
    rng = np.random.default_rng(0)
    paid = 0
    for episode in range(4):
        _, infos = env.reset(seed=episode)
        seen = {a: {tuple(infos[a]["position"])} for a in env.agents}
        while env.agents:
            _, rewards, term, _, infos = env.step({a: int(rng.integers(0, 5)) for a in env.agents})
            for a, r in rewards.items():
                square = tuple(infos[a]["position"])
                new = square not in seen[a]
                seen[a].add(square)
                paid += new
                assert r == pytest.approx(float(term[a]) + bonus * new), (episode, a, square)
    assert paid > 20  # the walks did reach new squares


def test_info_distance_matches_independent_solver():
    env = MazeEnv(n_agents=3, rows=5, cols=5, braid=0.5, max_steps=60)
    rng = np.random.default_rng(0)
    _, infos = env.reset(seed=2)
    for _ in range(300):
        if not env.agents:
            _, infos = env.reset()
        ref = relaxation_distances(env.layout.walls, env.layout.goal)
        for a, info in infos.items():
            assert info["distance"] == ref[info["position"]]
        if env.agents:
            _, _, _, _, infos = env.step({a: int(rng.integers(5)) for a in env.agents})


def test_layout_replay_across_resets():
    env = MazeEnv(episodes_per_layout=3, max_steps=5)
    layouts = []
    env.reset(seed=1)
    for episode in range(6):
        layouts.append((env.layout.walls.copy(), env._world.layout_index.item()))
        while env.agents:
            env.step({a: 0 for a in env.agents})
        env.reset()
    assert [k for _, k in layouts] == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(layouts[0][0], layouts[2][0]) and not np.array_equal(layouts[2][0], layouts[3][0])


def test_fixed_layout_seed_ignores_reset_seed():
    a, b = MazeEnv(layout_seed=5), MazeEnv(layout_seed=5)
    a.reset(seed=1)
    b.reset(seed=2)
    np.testing.assert_array_equal(a.layout.walls, b.layout.walls)


def test_conventional_constructors():
    assert isinstance(parallel_env(n_agents=2), MazeEnv)
    aec = aec_env(n_agents=2)
    aec.reset(seed=0)
    assert aec.agent_selection == "agent_0"
