"""The observation encoder shared by every agent, so that comparisons differ only in the core.

obs (B, C, V, V) uint8  ->  tokens (B, V*V, d)  one per cell, row-major from the north-west
                            pooled (B, d)       one vector for the whole window (optional)

Each channel has its own table of 256 embeddings, one per possible uint8 value, and a cell's
token is the sum over its channels plus a learned embedding of the cell's position. Values
are looked up, never scaled or clipped, so counts, landmark ids and extra planes (own row and
column, last action) all work for any number of channels C.
"""
from __future__ import annotations

import torch
from torch import nn

N_VALUES = 256  # every uint8 value has its own row: nothing is clipped


class ObservationEncoder(nn.Module):
    """Per-cell tokens and a pooled vector from a uint8 window.

    obs_shape  (C, V, V) of one observation
    d_embed    width d of tokens and of the pooled vector
    pool       build the pooled vector (agents that only attend over tokens skip it, so
               that every parameter they own is trained)
    d_pool     per-cell width before flattening into the pooled vector
    token_mlp  hidden width of a per-token MLP (residual, GELU), as a multiple of d; 0 (the
               default): none. It lets content and position interact before pooling, but it was
               most of the encoder's cost (70% at d = 64 on a CPU) and, measured on the main
               job's task, the LSTM learned far faster without it (benchmarks/learning.py;
               numbers in docs/results.md)

    The pooled vector is Linear(flatten(per-cell Linear(tokens, d_pool))): it keeps where each
    thing is in the window (a mean over cells would not) at a fraction of the parameters of
    flattening full-width tokens.
    """

    def __init__(self, obs_shape: tuple[int, int, int], d_embed: int = 64, pool: bool = True, d_pool: int = 16,
                 token_mlp: int = 0):
        super().__init__()
        C, V, V2 = obs_shape
        if C < 1 or V != V2 or V % 2 == 0:
            raise ValueError(f"obs_shape={tuple(obs_shape)}: need C >= 1 and a square window with odd V")
        if d_embed < 1:
            raise ValueError(f"d_embed={d_embed} must be >= 1")
        if token_mlp < 0:
            raise ValueError(f"token_mlp={token_mlp} must be >= 0 (0: no per-token MLP)")
        self.obs_shape = (C, V, V)
        self.d_embed = d_embed
        self.n_tokens = V * V
        # One bag of C lookups per cell; channel c uses rows [c*256, (c+1)*256).
        self.values = nn.EmbeddingBag(C * N_VALUES, d_embed, mode="sum")
        self.register_buffer("channel_offset", torch.arange(C) * N_VALUES, persistent=False)
        self.position = nn.Parameter(torch.randn(V * V, d_embed) * 0.02)
        self.norm = nn.LayerNorm(d_embed)
        self.mix = (nn.Sequential(nn.Linear(d_embed, token_mlp * d_embed), nn.GELU(),
                                  nn.Linear(token_mlp * d_embed, d_embed)) if token_mlp else None)
        self.pool = (nn.Sequential(nn.Linear(d_embed, d_pool), nn.Flatten(), nn.Linear(V * V * d_pool, d_embed),
                                   nn.LayerNorm(d_embed))
                     if pool else None)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """obs (B, C, V, V) uint8 -> tokens (B, V*V, d), pooled (B, d) or None."""
        if obs.dtype != torch.uint8:
            raise ValueError(f"obs must be uint8, got {obs.dtype}")
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.obs_shape:
            raise ValueError(f"obs shape {tuple(obs.shape)} does not match (B, *{self.obs_shape})")
        B, C = obs.shape[:2]
        idx = obs.permute(0, 2, 3, 1).reshape(B * self.n_tokens, C).long() + self.channel_offset
        tokens = self.values(idx).view(B, self.n_tokens, self.d_embed) + self.position
        tokens = self.norm(tokens)
        if self.mix is not None:
            tokens = tokens + self.mix(tokens)
        pooled = self.pool(tokens) if self.pool is not None else None
        return tokens, pooled
