"""When an agent writes: every step, every k-th step, or when the caller's gate says so."""
from __future__ import annotations

import torch

from memory.checks import check_choice, check_int

WRITE_POLICIES = ("every", "every_k", "gated")


class WritePolicy:
    """rows_to_write(step int64, gate bool | None) -> bool, row by row (any shape, e.g. (B*N,)).

    every    write on every call
    every_k  write where step % every == 0 (the caller's step within the episode, so the
             first step of every episode is written)
    gated    write where the caller's per-row `gate` is True (e.g. a learned or computed
             "surprise" signal); a gate is required on every write
    Under `every` and `every_k` a gate, when given, further restricts the rows.
    """

    def __init__(self, kind: str = "every", every: int = 1):
        check_choice("write_policy", kind, WRITE_POLICIES)
        self.kind = kind
        self.every = check_int("write_every", every, 1)

    def rows_to_write(self, step: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        if self.kind == "gated":
            if gate is None:
                raise ValueError("write_policy='gated' needs gate (B, N) bool on every write")
            return gate
        rows = step % self.every == 0 if self.kind == "every_k" else torch.ones_like(step, dtype=torch.bool)
        return rows if gate is None else rows & gate
