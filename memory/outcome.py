"""What an outcome-labelled memory entry says, as a fixed layout of its value vector.

Hindsight content (memory/hindsight.py) writes, for every step t an agent acted, an entry
whose value records what followed:

    [0, A)    one-hot of the action taken at t
    A         1 if the writer's episode reached the goal, else 0
    A + 1     steps from t to the goal, divided by the horizon (0 when not reached)
    A + 2     discounted return from t to the episode's end (raw rewards)
    A + 3 ..  zeros, up to the bank's value width

The writer is not in the value: `Recall.writers` carries it. Learned agents read these
vectors through attention like any other value; scripted agents decode them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Outcome:
    """Decoded labels, all of the values' leading shape.

    action        int64   the action the writer took
    reached       bool    the writer's episode reached the goal
    steps_left    int64   steps from this entry to the goal (-1 where not reached)
    return_to_go  float32 discounted return that followed
    """

    action: torch.Tensor
    reached: torch.Tensor
    steps_left: torch.Tensor
    return_to_go: torch.Tensor


@dataclass(frozen=True)
class OutcomeCodec:
    """Encodes and decodes outcome labels for `n_actions` actions and episodes of at most
    `horizon` steps (steps are stored as a fraction of it, so values stay O(1))."""

    n_actions: int
    horizon: int

    def __post_init__(self):
        for name in ("n_actions", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be an int >= 1")

    @property
    def width(self) -> int:
        """Value dimensions the labels use; a bank's value_dim must be at least this."""
        return self.n_actions + 3

    def encode(self, action: torch.Tensor, reached: torch.Tensor, steps_left: torch.Tensor,
               return_to_go: torch.Tensor, value_dim: int) -> torch.Tensor:
        """(W,) each -> values (W, value_dim) float32."""
        if value_dim < self.width:
            raise ValueError(f"value_dim={value_dim} cannot hold outcome labels: they need "
                             f">= {self.width} (n_actions + 3)")
        A = self.n_actions
        out = torch.zeros(action.shape[0], value_dim, device=action.device)
        out[torch.arange(action.shape[0], device=action.device), action] = 1.0
        out[:, A] = reached.float()
        out[:, A + 1] = torch.where(reached, steps_left.float(), 0.0) / self.horizon
        out[:, A + 2] = return_to_go.float()
        return out

    def remaining(self, values: torch.Tensor) -> torch.Tensor:
        """values (..., Dv) -> steps to the goal as a fraction of the horizon (...), +inf
        where the goal was not reached: for ranking entries without knowing the horizon."""
        A = self.n_actions
        return values[..., A + 1].masked_fill(values[..., A] <= 0.5, float("inf"))

    def decode(self, values: torch.Tensor) -> Outcome:
        """values (..., Dv) -> Outcome of shape (...). Zero (masked) values decode to
        action 0, not reached."""
        A = self.n_actions
        reached = values[..., A] > 0.5
        steps = torch.round(values[..., A + 1] * self.horizon).to(torch.int64)
        return Outcome(action=values[..., :A].argmax(-1), reached=reached,
                       steps_left=torch.where(reached, steps, -1), return_to_go=values[..., A + 2])
