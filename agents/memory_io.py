"""Memory keys, queries and write values: the same fixed functions for every agent.

Keys must stay comparable while the network trains: an entry written at update 100 is
searched with a query made at update 10 000. So keys and queries are *fixed* functions:

- key_source "obs" (default): a fixed random projection (seeded, never trained) of the raw
  observation window plus a constant feature, L2-normalised. Same window, same key, at any
  point of training; it makes memory a place-recognition lookup ("what was noted where the
  view looked like this"). If the position planes are switched on in the env they dominate
  the key, which then indexes places directly.
- key_source "sync": a fixed random projection of the agent's own representation (CTM
  synchronisation, recurrent hidden state), L2-normalised. Richer, but it drifts as the
  network trains; measure staleness before relying on it.

The query is computed exactly like the write key, so a read finds entries written in similar
situations. Write values are a fixed random projection of the detached representation. No
trainable parameter sits on the write path on purpose: PPO never passes gradients through
stored entries, so a learned writer would receive no gradient at all.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KEY_SOURCES = ("obs", "sync")


class FixedProjection(nn.Module):
    """x (B, n_in) -> x W^T (B, n_out) with W drawn once from a seeded generator, never trained."""

    def __init__(self, n_in: int, n_out: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("weight", torch.randn(n_out, n_in, generator=g) / n_in ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T


class MemoryIO(nn.Module):
    """Makes query (B, Dk), write keys (B, Dk) and write values (B, Dv).

    obs_shape  (C, V, V)   for key_source "obs"
    rep_dim    width of the agent representation used for values (and keys with "sync")
    """

    def __init__(self, obs_shape: tuple[int, int, int], rep_dim: int, key_dim: int, value_dim: int,
                 key_source: str = "obs", seed: int = 0):
        super().__init__()
        if key_source not in KEY_SOURCES:
            raise ValueError(f"key_source={key_source!r}; allowed: {KEY_SOURCES}")
        self.key_source = key_source
        n_obs = int(torch.tensor(obs_shape).prod()) + 1
        self.key_proj = FixedProjection(n_obs if key_source == "obs" else rep_dim, key_dim, seed)
        self.value_proj = FixedProjection(rep_dim, value_dim, seed + 1)

    def key(self, obs: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
        """Query and write key: obs (B, C, V, V) uint8, rep (B, R) -> (B, Dk), unit length."""
        if self.key_source == "obs":
            flat = obs.flatten(1).float()
            x = torch.cat([flat, torch.ones_like(flat[:, :1])], dim=1)
        else:
            x = rep.detach()
        return F.normalize(self.key_proj(x), dim=-1)

    def value(self, rep: torch.Tensor) -> torch.Tensor:
        """Write value: rep (B, R) -> (B, Dv)."""
        return self.value_proj(rep.detach())
