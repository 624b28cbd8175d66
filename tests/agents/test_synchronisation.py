"""Synchronisation against the direct formula, computed independently in float64."""
from __future__ import annotations

import pytest
import torch

from agents.synchronisation import (STRATEGIES, Synchroniser, decayed_step, read_sync, select_pairs, sync_size,
                                    window_sync)


def direct(z_history: torch.Tensor, left, right, rate: torch.Tensor) -> torch.Tensor:
    """S_ij(t) = sum_s e^{-k (t-s)} z_i(s) z_j(s) / sqrt(sum_s e^{-k (t-s)}), by explicit loops."""
    B, D, t = z_history.shape
    out = torch.zeros(B, len(left), dtype=torch.float64)
    for p, (i, j) in enumerate(zip(left.tolist(), right.tolist())):
        num = torch.zeros(B, dtype=torch.float64)
        den = 0.0
        for s in range(t):
            w = float(torch.exp(-rate[p] * (t - 1 - s)))
            num += w * z_history[:, i, s] * z_history[:, j, s]
            den += w
        out[:, p] = num / den ** 0.5
    return out


def test_recursion_equals_direct_formula_over_full_history():
    g = torch.Generator().manual_seed(0)
    B, D, T = 3, 10, 12
    left, right = select_pairs("random", D, 4, "out", g)
    rate = torch.rand(len(left), generator=g, dtype=torch.float64) * 2
    z = torch.randn(B, D, T, generator=g, dtype=torch.float64)
    num, den = z[:, left, 0] * z[:, right, 0], torch.ones(B, len(left), dtype=torch.float64)
    for t in range(1, T):
        num, den = decayed_step(num, den, z[:, left, t] * z[:, right, t], torch.exp(-rate))
        torch.testing.assert_close(read_sync(num, den), direct(z[:, :, :t + 1], left, right, rate))


def test_zero_decay_is_normalised_inner_product():
    g = torch.Generator().manual_seed(1)
    B, D, T = 2, 6, 9
    left, right = select_pairs("first-last", D, 3, "out", g)
    z = torch.randn(B, D, T, generator=g, dtype=torch.float64)
    num, den = z[:, left, 0] * z[:, right, 0], torch.ones(B, len(left), dtype=torch.float64)
    r = torch.ones(len(left), dtype=torch.float64)
    for t in range(1, T):
        num, den = decayed_step(num, den, z[:, left, t] * z[:, right, t], r)
    plain = (z[:, left, :] * z[:, right, :]).sum(-1) / T ** 0.5
    torch.testing.assert_close(read_sync(num, den), plain)
    # The window form with rate 0 over the whole history gives the same number.
    torch.testing.assert_close(window_sync(z[:, left, :] * z[:, right, :], torch.zeros(len(left), dtype=torch.float64)),
                               plain)


def test_window_equals_direct_formula_over_last_w():
    g = torch.Generator().manual_seed(2)
    B, D, T, W = 2, 8, 11, 4
    left, right = select_pairs("random-pairing", D, 5, "action", g, n_self=2)
    rate = torch.rand(5, generator=g, dtype=torch.float64)
    z = torch.randn(B, D, T, generator=g, dtype=torch.float64)
    got = window_sync(z[:, left, T - W:] * z[:, right, T - W:], rate)
    torch.testing.assert_close(got, direct(z[:, :, T - W:], left, right, rate))


def test_module_recursion_matches_module_window_in_float32():
    g = torch.Generator().manual_seed(3)
    left, right = select_pairs("random", 12, 5, "out", g)
    sync = Synchroniser(left, right, decay_init=0.3)
    z = torch.randn(4, 12, 6, generator=g)
    num, den = sync.init_sums(z[:, :, 0])
    for t in range(1, 6):
        num, den = sync.step(num, den, z[:, :, t])
    torch.testing.assert_close(read_sync(num, den), sync.window(z), rtol=1e-5, atol=1e-5)
    assert (sync.rate() > 0).all()
    torch.testing.assert_close(sync.rate(), torch.full((15,), 0.3))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pair_selection(strategy):
    D, n = 32, 6
    pairs = {side: select_pairs(strategy, D, n, side, torch.Generator().manual_seed(5)) for side in ("out", "action")}
    for left, right in pairs.values():
        assert left.shape == right.shape == (sync_size(strategy, n),)
        assert left.dtype == torch.int64 and 0 <= left.min() and left.max() < D and right.max() < D
    again = select_pairs(strategy, D, n, "out", torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(pairs["out"], again))
    if strategy == "first-last":
        assert set(pairs["out"][0].tolist()) == set(range(n))
        assert set(pairs["action"][0].tolist()) == set(range(D - n, D))
        assert (pairs["out"][0] <= pairs["out"][1]).all()


def test_pair_selection_errors_name_the_value():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="'dense'"):
        select_pairs("dense", 8, 2, "out", g)
    with pytest.raises(ValueError, match="n_synch=9"):
        select_pairs("random", 8, 9, "out", g)
    with pytest.raises(ValueError, match="decay_init=0"):
        Synchroniser(torch.arange(3), torch.arange(3), decay_init=0)


def test_decay_has_no_dead_zone():
    """Every raw decay parameter gets a gradient, negative ones included: the reference's
    clamp to [0, 4] zeroes the gradient of parameters outside it; softplus never does."""
    left, right = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 2, 3, 3])
    sync = Synchroniser(left, right)
    with torch.no_grad():
        sync.decay.copy_(torch.tensor([-8.0, -1.0, 0.5, 6.0]))
    trace = torch.randn(5, 4, 4, generator=torch.Generator().manual_seed(0))
    (sync.window(trace) * torch.randn(5, 4, generator=torch.Generator().manual_seed(1))).sum().backward()
    assert (sync.decay.grad.abs() > 0).all(), sync.decay.grad
