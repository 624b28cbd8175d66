"""Certainty and the tick-selection loss against brute-force references."""
from __future__ import annotations

import math

import torch

from agents.losses import certainty, tick_selection_loss


def test_certainty_bounds_and_extremes():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 5, generator=g) * 10
    c = certainty(logits)
    assert ((c >= 0) & (c <= 1)).all()
    torch.testing.assert_close(certainty(torch.zeros(3, 5)), torch.zeros(3))
    assert (certainty(torch.tensor([[100.0, 0, 0, 0, 0]])) > 0.99).all()
    p = torch.softmax(logits[0].double(), -1)
    expected = 1 + (p * p.log()).sum() / math.log(5)
    torch.testing.assert_close(c[0].double(), expected, rtol=1e-5, atol=1e-6)


def test_tick_selection_picks_argmin_loss_and_argmax_certainty():
    g = torch.Generator().manual_seed(1)
    B, A, T = 6, 4, 5
    logits = torch.randn(B, A, T, generator=g) * 3
    targets = torch.randint(A, (B,), generator=g)
    out = tick_selection_loss(logits, targets)
    ce = torch.empty(B, T)
    cert = torch.empty(B, T)
    for b in range(B):
        for t in range(T):
            p = torch.softmax(logits[b, :, t], -1)
            ce[b, t] = -p[targets[b]].log()
            cert[b, t] = 1 + (p * p.log()).sum() / math.log(A)
    assert torch.equal(out.tick_min, ce.argmin(1))
    assert torch.equal(out.tick_certain, cert.argmax(1))
    expected = (ce[torch.arange(B), ce.argmin(1)].mean() + ce[torch.arange(B), cert.argmax(1)].mean()) / 2
    torch.testing.assert_close(out.loss, expected, rtol=1e-5, atol=1e-6)


def test_tick_selection_uses_given_certainty():
    logits = torch.zeros(2, 3, 4)
    certainty_per_tick = torch.tensor([[0.1, 0.9, 0.2, 0.3], [0.5, 0.1, 0.1, 0.7]])
    out = tick_selection_loss(logits, torch.tensor([0, 1]), certainty_per_tick)
    assert out.tick_certain.tolist() == [1, 3]
