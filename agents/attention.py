"""Cross-attention from one query per row onto observation tokens and retrieved memory entries.

Keys and values are projected once per environment step (`prepare`); each internal tick then
only projects its query (`attend`), which is what keeps a CTM tick cheap.

Memory entries become extra tokens: [key, value, score] -> Linear -> LayerNorm, plus a learned
"memory" type vector so the query can tell them from cells. Invalid entries (mask False) are
excluded from the softmax; observation tokens are always valid, so no row is ever empty.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Context:
    """Prepared attention context. k, v (B, H, N, dh); mask (B, 1, 1, N) bool, True = attend."""

    k: torch.Tensor
    v: torch.Tensor
    mask: torch.Tensor | None


class ObsMemoryAttention(nn.Module):
    """Multi-head attention, width d, over N = V*V observation tokens + k memory entries."""

    def __init__(self, query_dim: int, d: int, heads: int, key_dim: int = 0, value_dim: int = 0):
        super().__init__()
        if heads < 1 or d % heads:
            raise ValueError(f"d_input={d} must be divisible by heads={heads} (heads >= 1)")
        self.heads = heads
        self.q_proj = nn.Linear(query_dim, d)
        self.kv_proj = nn.Linear(d, 2 * d)
        self.out_proj = nn.Linear(d, d)
        self.memory = None
        if key_dim and value_dim:
            self.memory = nn.Sequential(nn.Linear(key_dim + value_dim + 1, d), nn.LayerNorm(d))
            self.memory_type = nn.Parameter(torch.zeros(d))

    def prepare(self, tokens: torch.Tensor, recall=None) -> Context:
        """tokens (B, N, d); recall with keys (B, k, Dk), values (B, k, Dv), scores, mask (B, k)."""
        B, N, _ = tokens.shape
        mask = None
        if recall is not None and self.memory is not None and recall.mask.shape[1] > 0:
            entries = torch.cat([recall.keys, recall.values, recall.scores.unsqueeze(-1)], dim=-1)
            mem = self.memory(entries.to(tokens.dtype)) + self.memory_type                   # (B, k, d)
            tokens = torch.cat([tokens, mem], dim=1)
            obs_valid = torch.ones(B, N, dtype=torch.bool, device=tokens.device)
            mask = torch.cat([obs_valid, recall.mask.to(torch.bool)], dim=1)[:, None, None, :]
        k, v = self.kv_proj(tokens).chunk(2, dim=-1)
        split = lambda t: t.view(B, t.shape[1], self.heads, -1).transpose(1, 2)            # (B, H, N, dh)
        return Context(split(k), split(v), mask)

    def attend(self, query: torch.Tensor, ctx: Context) -> torch.Tensor:
        """query (B, query_dim) -> (B, d)."""
        B = query.shape[0]
        q = self.q_proj(query).view(B, self.heads, 1, -1)
        # One query per row: plain matmuls beat the fused kernels, which are tuned for long queries.
        logits = (q @ ctx.k.transpose(-1, -2)) * q.shape[-1] ** -0.5                     # (B, H, 1, N)
        if ctx.mask is not None:
            logits = logits.masked_fill(~ctx.mask, float("-inf"))
        out = torch.softmax(logits, dim=-1) @ ctx.v                                       # (B, H, 1, dh)
        return self.out_proj(out.reshape(B, -1))
