"""GAE and return scaling against references written separately, the way a textbook states them.

The reference GAE sums discounted TD errors forward from each step to the end of the agent's
episode (or the rollout), instead of the backward recursion `experiments.ppo.advantages` uses;
the reference return scale keeps every discounted return and takes numpy's std of all of them.
"""
import numpy as np
import pytest
import torch

from experiments.ppo import advantages
from experiments.rollout import Rollout, RunningReturnScale


def random_rollout(T: int, R: int, seed: int) -> Rollout:
    """Rows that act, end (terminate or truncate) at random, sit out, then start again."""
    g = np.random.default_rng(seed)
    active = np.zeros((T, R), dtype=bool)
    ended = np.zeros((T, R), dtype=bool)
    starts = np.zeros((T, R), dtype=bool)
    for r in range(R):
        alive = bool(g.random() < 0.8)
        for t in range(T):
            if not alive and g.random() < 0.3:       # the maze resets: a new episode begins
                alive, starts[t, r] = True, True
            active[t, r] = alive
            if alive and g.random() < 0.15:
                ended[t, r], alive = True, False
    ended &= active
    f = lambda *shape: torch.tensor(g.normal(size=shape), dtype=torch.float32)  # noqa: E731
    active_t, ended_t = torch.tensor(active), torch.tensor(ended)
    next_value = f(R) * active_t[-1] * ~ended_t[-1]
    return Rollout(obs=torch.zeros(T, R, 1, 1, 1, dtype=torch.uint8), actions=torch.zeros(T, R, dtype=torch.long),
                   logprobs=f(T, R), values=f(T, R), rewards=f(T, R), alive=active_t, ended=ended_t,
                   starts=torch.tensor(starts), recall=None, init_state={}, next_value=next_value)


def reference_gae(r: Rollout, gamma: float, lam: float) -> np.ndarray:
    """A_t = sum_l (gamma lam)^l delta_{t+l}, summed forward until the episode ends."""
    rew, val, act, end = (x.double().numpy() for x in (r.rewards, r.values, r.alive, r.ended))
    boot = r.next_value.double().numpy()
    T, R = rew.shape
    adv = np.zeros((T, R))
    for row in range(R):
        for t in range(T):
            if not act[t, row]:
                continue
            total, weight = 0.0, 1.0
            for s in range(t, T):
                following = boot[row] if s == T - 1 else val[s + 1, row]
                delta = rew[s, row] + (0.0 if end[s, row] else gamma * following) - val[s, row]
                total += weight * delta
                if end[s, row]:
                    break
                weight *= gamma * lam
            adv[t, row] = total
    return adv


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (1.0, 0.0)])
def test_gae_matches_forward_sum_of_td_errors(gamma, lam):
    r = random_rollout(T=24, R=12, seed=int(gamma * 100 + lam * 10))
    adv, returns = advantages(r, gamma, lam)
    expected = reference_gae(r, gamma, lam)
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns.numpy(), expected + r.values.numpy(), rtol=1e-5, atol=1e-5)
    assert (adv[~r.alive] == 0).all()


def test_terminal_steps_do_not_bootstrap():
    """One row, episode of 3 steps ending at t=2, reward 1 at the end, values 0: A = gamma^(2-t)."""
    r = random_rollout(T=3, R=1, seed=0)
    r.alive[:], r.ended[:] = True, False
    r.ended[2] = True
    r.rewards[:] = torch.tensor([[0.0], [0.0], [1.0]])
    r.values[:] = 0.0
    r.next_value[:] = 100.0  # must be ignored: the episode ended inside the rollout
    adv, _ = advantages(r, gamma=0.5, lam=1.0)
    np.testing.assert_allclose(adv[:, 0].numpy(), [0.25, 0.5, 1.0])


def test_return_scale_divides_by_std_of_all_discounted_returns():
    g = np.random.default_rng(3)
    T, R, gamma = 60, 8, 0.9
    scale = RunningReturnScale(R, gamma, "cpu")
    running = np.zeros(R)
    seen: list[float] = []
    for _ in range(T):
        reward = g.normal(size=R).astype(np.float32)
        active = g.random(R) < 0.8
        ended = active & (g.random(R) < 0.1)
        running = running * gamma + reward
        seen.extend(running[active])
        out = scale(torch.tensor(reward), torch.tensor(ended), torch.tensor(active))
        # The running estimate starts from a pseudo-count of 1e-4 at var 1: negligible after a step.
        np.testing.assert_allclose(out.numpy(), reward / np.std(seen), rtol=1e-3)
        running[ended] = 0.0
