"""A small differentiable read over retrieved memory entries.

Retrieval (FAISS search) is not differentiable; attention over what was retrieved
is. Gradients reach the query, the key/value projections and the optional gate.
"""
from __future__ import annotations

import torch
from torch import nn


class ReadAttention(nn.Module):
    """Multi-head attention from one query per row onto its k retrieved entries.

    forward(query (B, Dq), recall) -> (B, out_dim), where `recall` has fields
    keys (B, k, Dk), values (B, k, Dv), scores (B, k) and mask (B, k) (a `Recall`
    after `flatten()`, or anything with those fields). The retrieval score is fed
    to the entry projection as an extra feature, so the reader can tell a near
    match from a far one. Rows with no valid entry return zeros, never NaN.
    With `gate=True` a learned sigmoid gate (from the query) scales the result,
    so an agent can learn to ignore memory.
    """

    def __init__(self, query_dim: int, key_dim: int, value_dim: int, out_dim: int,
                 n_heads: int = 1, gate: bool = False):
        super().__init__()
        if out_dim % n_heads:
            raise ValueError(f"out_dim={out_dim} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.q_proj = nn.Linear(query_dim, out_dim)
        self.k_proj = nn.Linear(key_dim + 1, out_dim)
        self.v_proj = nn.Linear(value_dim + key_dim + 1, out_dim)
        self.out_proj = nn.Linear(out_dim, out_dim)
        self.gate = nn.Linear(query_dim, 1) if gate else None

    def forward(self, query: torch.Tensor, recall) -> torch.Tensor:
        B, k = recall.mask.shape
        H = self.n_heads
        score = recall.scores.unsqueeze(-1)                                   # (B, k, 1)
        entry_k = torch.cat([recall.keys, score], dim=-1)
        entry_v = torch.cat([recall.values, recall.keys, score], dim=-1)
        q = self.q_proj(query).view(B, H, 1, -1)                              # (B, H, 1, d)
        kk = self.k_proj(entry_k).view(B, k, H, -1).transpose(1, 2)           # (B, H, k, d)
        vv = self.v_proj(entry_v).view(B, k, H, -1).transpose(1, 2)           # (B, H, k, d)
        logits = (q @ kk.transpose(-1, -2)) / kk.shape[-1] ** 0.5             # (B, H, 1, k)
        mask = recall.mask.view(B, 1, 1, k)
        logits = logits.masked_fill(~mask, float("-inf"))
        # A row with nothing valid would softmax to NaN: give it zero weights instead.
        weights = torch.softmax(logits, dim=-1).nan_to_num(0.0) * mask
        out = (weights @ vv).reshape(B, -1)                                   # (B, out_dim)
        out = self.out_proj(out) * recall.mask.any(-1, keepdim=True)
        if self.gate is not None:
            out = out * torch.sigmoid(self.gate(query))
        return out
