"""Certainty and the CTM's tick-selection loss.

certainty = 1 - H(softmax(logits)) / log(A), in [0, 1]: 0 for a uniform policy, 1 for a
one-hot one. The supervised tick-selection loss of the CTM paper averages the loss at two
ticks chosen per example: the tick with the lowest loss and the tick with the highest
certainty, so the model is rewarded both for getting there at some tick and for being sure
when it is right.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def certainty(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """1 - normalised entropy along `dim`; logits (..., A, ...) -> (...) in [0, 1]."""
    A = logits.shape[dim]
    if A < 2:
        return torch.ones_like(logits.select(dim, 0))
    logp = F.log_softmax(logits, dim=dim)
    entropy = -(logp.exp() * logp).sum(dim)
    return (1.0 - entropy / math.log(A)).clamp(0.0, 1.0)


@dataclass
class TickLoss:
    """loss (scalar); loss_min, loss_certain (scalars); tick_min, tick_certain (B,) int64."""

    loss: torch.Tensor
    loss_min: torch.Tensor
    loss_certain: torch.Tensor
    tick_min: torch.Tensor
    tick_certain: torch.Tensor


def tick_selection_loss(logits_per_tick: torch.Tensor, targets: torch.Tensor,
                        certainty_per_tick: torch.Tensor | None = None) -> TickLoss:
    """Cross-entropy at the min-loss tick and at the max-certainty tick, averaged.

    logits_per_tick     (B, A, T)
    targets             (B,) int64 in [0, A)
    certainty_per_tick  (B, T); computed from the logits when None
    """
    if logits_per_tick.dim() != 3 or targets.shape != logits_per_tick.shape[:1]:
        raise ValueError(f"logits_per_tick {tuple(logits_per_tick.shape)} must be (B, A, T) and "
                         f"targets {tuple(targets.shape)} must be (B,)")
    T = logits_per_tick.shape[-1]
    losses = F.cross_entropy(logits_per_tick, targets.unsqueeze(-1).expand(-1, T), reduction="none")  # (B, T)
    if certainty_per_tick is None:
        certainty_per_tick = certainty(logits_per_tick, dim=1)
    tick_min = losses.argmin(dim=1)
    tick_certain = certainty_per_tick.argmax(dim=1)
    loss_min = losses.gather(1, tick_min.unsqueeze(1)).mean()
    loss_certain = losses.gather(1, tick_certain.unsqueeze(1)).mean()
    return TickLoss((loss_min + loss_certain) / 2, loss_min, loss_certain, tick_min, tick_certain)
