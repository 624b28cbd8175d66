"""BatchedMazeEnv and MazeEnv, driven by the same seeds and actions, agree exactly."""
import numpy as np
import pytest
import torch

from envs import BatchedMazeEnv, MazeEnv

CONFIGS = [
    dict(n_agents=4, n_landmarks=4, braid=0.3, max_steps=30, explore_bonus=0.02),
    dict(n_agents=3, see_through_walls=True, view_size=7, agents_block=True, max_steps=25,
         episodes_per_layout=2, generator="rooms"),
    dict(n_agents=2, observe_position=True, observe_last_action=True, step_penalty=0.01,
         reward_decay=False, max_steps=20, rows=3, cols=3, spawn="random", generator="open"),
]


@pytest.mark.parametrize("options", CONFIGS)
def test_batched_matches_pettingzoo_for_500_steps(options):
    B, seed, steps = 3, 21, 500
    batched = BatchedMazeEnv(B, **options)
    singles = [MazeEnv(maze_index=b, **options) for b in range(B)]
    N = batched.n_agents
    obs, info = batched.reset(seed=seed)
    single_obs = [env.reset(seed=seed)[0] for env in singles]
    rng = np.random.default_rng(0)
    resets = 0
    for t in range(steps):
        for b, env in enumerate(singles):
            for a in env.agents:
                np.testing.assert_array_equal(obs[b, int(a[6:])].numpy(), single_obs[b][a],
                                              err_msg=f"step {t} maze {b} {a}")
            assert [int(a[6:]) for a in env.agents] == torch.nonzero(info["alive"][b]).flatten().tolist()
        actions = torch.from_numpy(rng.integers(0, 5, size=(B, N)))
        obs, reward, term, trunc, info = batched.step(actions)
        for b, env in enumerate(singles):
            acting = list(env.agents)
            o, r, te, tr, inf = env.step({a: int(actions[b, int(a[6:])]) for a in acting})
            for a in acting:
                i = int(a[6:])
                assert r[a] == pytest.approx(float(reward[b, i]), abs=1e-6)
                assert te[a] == bool(term[b, i]) and tr[a] == bool(trunc[b, i])
            if env.agents:
                single_obs[b] = o
                for a in env.agents:
                    assert inf[a]["position"] == tuple(info["position"][b, int(a[6:])].tolist())
                    assert inf[a]["distance"] == int(info["distance"][b, int(a[6:])])
            else:
                assert bool(info["reset"][b])
                resets += 1
                single_obs[b], infos = env.reset()
                assert infos["agent_0"]["episode_index"] == int(info["episode_index"][b])
                assert infos["agent_0"]["layout_id"] == int(info["layout_id"][b])
                for a, inf_a in infos.items():
                    assert inf_a["position"] == tuple(info["position"][b, int(a[6:])].tolist())
    assert resets >= 2 * B  # the comparison crossed several resets


def test_episode_statistics_at_autoreset():
    env = BatchedMazeEnv(8, n_agents=2, max_steps=15)
    env.reset(seed=0)
    seen = 0
    for _ in range(60):
        obs, reward, term, trunc, info = env.step(torch.randint(0, 5, (8, 2)))
        done = info["reset"]
        if done.any():
            seen += int(done.sum())
            lengths = info["episode_length"][done]
            assert (lengths >= 1).all() and (lengths <= 15).all()
            success = info["episode_success"][done]
            assert ((info["episode_return"][done] > 0) == success).all()
            assert info["alive"][done].all()
    assert seen >= 8


def test_actions_of_dead_agents_are_ignored():
    a = BatchedMazeEnv(2, n_agents=2, max_steps=10)
    b = BatchedMazeEnv(2, n_agents=2, max_steps=10)
    a.reset(seed=0)
    b.reset(seed=0)
    a._world.alive[:, 1] = False
    b._world.alive[:, 1] = False
    acts = torch.tensor([[1, 0], [2, 0]])
    other = torch.tensor([[1, 4], [2, 3]])
    oa = a.step(acts)[0]
    ob = b.step(other)[0]
    torch.testing.assert_close(oa, ob)


@pytest.mark.parametrize("actions,error", [
    (torch.zeros(2, 3, dtype=torch.int64), "shape"),
    (torch.full((2, 2), 5), r"action 5 is outside \[0, 5\)"),
    (torch.full((2, 2), -1), "action -1"),
    (torch.zeros(2, 2), "integers"),
])
def test_bad_actions_fail_clearly(actions, error):
    env = BatchedMazeEnv(2, n_agents=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=error):
        env.step(actions)


def test_step_before_reset_fails():
    with pytest.raises(RuntimeError, match="reset"):
        BatchedMazeEnv(2).step(torch.zeros(2, 4, dtype=torch.int64))


def test_prefetched_layouts_equal_layouts_made_in_place():
    options = dict(n_agents=2, max_steps=6, rows=3, cols=3, n_landmarks=2, braid=0.5)
    plain = BatchedMazeEnv(5, **options)
    ahead = BatchedMazeEnv(5, layout_workers=2, **options)
    try:
        for seed in (3, 4):  # a new seed forgets layouts prefetched for the old one
            obs_p, _ = plain.reset(seed=seed)
            obs_a, _ = ahead.reset(seed=seed)
            g = torch.Generator().manual_seed(seed)
            for t in range(40):
                assert torch.equal(obs_p, obs_a), f"seed {seed} step {t}"
                actions = torch.randint(0, 5, (5, 2), generator=g)
                obs_p, _, _, _, info_p = plain.step(actions)
                obs_a, _, _, _, info_a = ahead.step(actions)
                assert torch.equal(info_p["layout_id"], info_a["layout_id"])
                assert torch.equal(info_p["distance"], info_a["distance"])
            assert int(info_a["episode_index"].min()) >= 5  # many layouts went through the workers
    finally:
        ahead.close()


def test_negative_layout_workers_is_rejected():
    with pytest.raises(ValueError, match="layout_workers=-1"):
        BatchedMazeEnv(2, layout_workers=-1)
