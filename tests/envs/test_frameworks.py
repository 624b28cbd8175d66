"""Users' own tools on our envs, used as their docs say: Gymnasium wrappers, Stable-Baselines3,
SuperSuit's shared-policy pipeline and the plain PettingZoo loop."""
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from gymnasium.wrappers import FlattenObservation, RecordEpisodeStatistics

from envs import BatchedMazeEnv, MazeConfig, MazeEnv, MazeGymEnv
from envs.supersuit_compat import BlackDeath, shared_policy_vec_env

SMALL = dict(rows=2, cols=2, max_steps=16)
MOVES = {1: (-1, 0), 2: (0, 1), 3: (1, 0), 4: (0, -1)}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The tensors here are tiny: one thread is fastest, and stays fast on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def greedy_action(env, position) -> int:
    """The move down the BFS distance field towards the goal."""
    dist = env.layout.distance
    r, c = position

    def after(move):
        d = dist[r + MOVES[move][0], c + MOVES[move][1]]
        return d if d >= 0 else 10**9
    return min(MOVES, key=after)


# ---------------------------------------------------------------- Gymnasium view

def test_gym_env_defaults_to_one_agent():
    env = MazeGymEnv()
    assert env.config.n_agents == 1
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape


@pytest.mark.parametrize("kwargs", [dict(n_agents=2), dict(config=MazeConfig(n_agents=3))])
def test_gym_env_refuses_several_agents(kwargs):
    with pytest.raises(ValueError, match=r"single-agent: n_agents=\d, allowed: 1"):
        MazeGymEnv(**kwargs)


def test_no_env_uses_the_reserved_episode_info_key():
    _, infos = MazeEnv(n_agents=2).reset(seed=0)
    _, gym_info = MazeGymEnv().reset(seed=0)
    _, batched_info = BatchedMazeEnv(2, n_agents=2).reset(seed=0)
    for info in (infos["agent_0"], gym_info, batched_info):
        assert "episode" not in info and "episode_index" in info


def test_episode_index_counts_episodes():
    env = MazeGymEnv(**SMALL)
    for expected in range(3):
        _, info = env.reset(seed=0 if expected == 0 else None)
        assert info["episode_index"] == expected
        done = False
        while not done:
            _, _, term, trunc, info = env.step(0)
            done = term or trunc
        assert info["episode_index"] == expected


def test_record_episode_statistics_matches_own_sums():
    env = RecordEpisodeStatistics(MazeGymEnv(**SMALL))
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    finished, total, length = [], 0.0, 0
    while len(finished) < 4:
        _, reward, term, trunc, info = env.step(int(rng.integers(5)))
        total, length = total + reward, length + 1
        if term or trunc:
            finished.append((info["episode"], total, length))
            total, length = 0.0, 0
            env.reset()
    for stats, own_return, own_length in finished:
        assert stats["r"] == pytest.approx(own_return) and stats["l"] == own_length


@pytest.fixture
def sb3_logdir(tmp_path, monkeypatch):
    """SB3's logger makes a folder even when it logs nothing: keep it out of the system temp dir."""
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3"))


def test_sb3_ppo_learns_on_the_flattened_gym_env(sb3_logdir):
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    class KeepEpisodeInfos(BaseCallback):
        def __init__(self):
            super().__init__()
            self.episodes = []

        def _on_step(self) -> bool:
            self.episodes += [info["episode"] for info in self.locals["infos"] if "episode" in info]
            return True

    env = RecordEpisodeStatistics(FlattenObservation(MazeGymEnv(**SMALL)))
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0, device="cpu")
    kept = KeepEpisodeInfos()
    model.learn(total_timesteps=2048, callback=kept)
    assert len(kept.episodes) >= 2048 // SMALL["max_steps"]
    for stats in kept.episodes:
        assert isinstance(stats, dict) and math.isfinite(stats["r"]) and 1 <= stats["l"] <= SMALL["max_steps"]
        # Reward comes only at the goal, so an episode earned some exactly when it ended early.
        assert (stats["r"] > 0) == (stats["l"] < SMALL["max_steps"])
    assert len(model.ep_info_buffer) > 0
    assert all(math.isfinite(ep["r"]) for ep in model.ep_info_buffer)


# ---------------------------------------------------------------- SuperSuit's shared policy

def test_black_death_pads_finished_agents_until_the_last_one_leaves():
    env = BlackDeath(MazeEnv(n_agents=2, rows=3, cols=3, max_steps=200))
    obs, infos = env.reset(seed=4)
    # agent_0 walks to the goal while agent_1 waits, then agent_1 walks.
    while "agent_0" in env.env.agents:
        obs, rewards, term, trunc, infos = env.step(
            {"agent_0": greedy_action(env, infos["agent_0"]["position"]), "agent_1": 0})
    assert env.agents == ["agent_0", "agent_1"] and env.env.agents == ["agent_1"]
    assert not any(term.values()) and not any(trunc.values())
    steps = 0
    while env.agents:
        obs, rewards, term, trunc, infos = env.step(
            {"agent_0": 3, "agent_1": greedy_action(env, infos["agent_1"]["position"])})
        steps += 1
        assert not obs["agent_0"].any() and rewards["agent_0"] == 0.0 and infos["agent_0"] == {}
    assert steps > 1 and rewards["agent_1"] > 0  # agent_1 reached the goal after agent_0
    assert all(term.values()) and all(trunc.values())
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"agent_0": 0, "agent_1": 0})


def test_black_death_passes_the_parallel_api_test():
    from pettingzoo.test import parallel_api_test
    parallel_api_test(BlackDeath(MazeEnv(n_agents=3, **SMALL)), num_cycles=200)


def test_shared_policy_vec_env_runs_through_many_episode_ends():
    n_envs, n_agents, max_steps = 2, 2, 40
    venv = shared_policy_vec_env(MazeEnv(n_agents=n_agents, rows=2, cols=2, max_steps=max_steps), n_envs)
    assert venv.num_envs == n_envs * n_agents
    obs = venv.reset()
    shape = obs.shape
    assert shape[0] == venv.num_envs
    rng = np.random.default_rng(0)
    lengths = []
    for _ in range(2000):
        obs, rewards, dones, infos = venv.step(rng.integers(0, 5, venv.num_envs))
        assert obs.shape == shape
        # a maze ends for all its agents at once
        assert (dones.reshape(n_envs, n_agents).all(1) == dones.reshape(n_envs, n_agents).any(1)).all()
        lengths += [info["episode"]["l"] for info in infos if "episode" in info]
    # Mazes ended both by every agent reaching the goal (the case that stalled) and at max_steps.
    assert min(lengths) < max_steps and max(lengths) == max_steps


def test_shared_policy_vec_env_seeds_at_the_next_reset():
    venv = shared_policy_vec_env(MazeEnv(n_agents=2), 2)
    venv.seed(7)
    first = venv.reset()
    venv.step(np.zeros(venv.num_envs, dtype=np.int64))
    venv.seed(7)
    np.testing.assert_array_equal(venv.reset(), first)


def test_sb3_ppo_trains_with_one_policy_shared_by_all_agents(sb3_logdir):
    from stable_baselines3 import PPO

    venv = shared_policy_vec_env(MazeEnv(n_agents=2, **SMALL), 2)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, n_epochs=1, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048 and len(model.ep_info_buffer) > 0
    assert all(math.isfinite(ep["r"]) for ep in model.ep_info_buffer)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))


@pytest.mark.parametrize("kwargs,match", [(dict(n_envs=0), "n_envs=0"), (dict(n_envs=2.0), "n_envs=2.0"),
                                          (dict(n_envs=1, num_cpus=-1), "num_cpus=-1")])
def test_shared_policy_vec_env_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        shared_policy_vec_env(MazeEnv(n_agents=2), **kwargs)


def test_supersuit_and_sb3_stay_optional():
    code = ("import sys, envs, envs.supersuit_compat; "
            "assert not {'supersuit', 'stable_baselines3'} & set(sys.modules), 'imported at module load'")
    subprocess.run([sys.executable, "-c", code], check=True)
