"""Cross-attention from one query per row onto observation tokens and retrieved memory entries.

There is one query per row, so the key and value projections are applied to the query and to
the attention-weighted sum of tokens instead of to every token ("absorbed" projections):
per head, q . (Wk t) = (Wk^T q) . t, and sum_n a_n (Wv t_n + bv) = Wv (sum_n a_n t_n) + bv
because the weights sum to one. The key bias adds the same number to every logit of a head
and cancels in the softmax. This is the same function as projecting all N tokens, at about a
tenth of the cost for N = 25-41 tokens and a few heads; `prepare` (once per environment step)
only assembles the tokens, and `attend` runs once per internal tick.

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
    """Prepared attention context: tokens (B, N, d); mask (B, N) bool, True = attend, or None."""

    tokens: torch.Tensor
    mask: torch.Tensor | None


class ObsMemoryAttention(nn.Module):
    """Multi-head attention, width d, over N = V*V observation tokens + k memory entries."""

    def __init__(self, query_dim: int, d: int, heads: int, key_dim: int = 0, value_dim: int = 0):
        super().__init__()
        if heads < 1 or d % heads:
            raise ValueError(f"d_input={d} must be divisible by heads={heads} (heads >= 1)")
        self.heads = heads
        self.q_proj = nn.Linear(query_dim, d)
        self.kv_proj = nn.Linear(d, 2 * d)    # rows [0, d): keys, [d, 2d): values, head-major
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
            mask = torch.cat([obs_valid, recall.mask.to(torch.bool)], dim=1)
        return Context(tokens, mask)

    def attend(self, query: torch.Tensor, ctx: Context) -> torch.Tensor:
        """query (B, query_dim) -> (B, d)."""
        B, H = query.shape[0], self.heads
        d = ctx.tokens.shape[-1]
        w_k, w_v = self.kv_proj.weight.view(2, H, d // H, d).unbind(0)                  # (H, dh, d)
        b_v = self.kv_proj.bias[d:].view(H, d // H)
        q = self.q_proj(query).view(B, H, d // H)
        q_in = torch.einsum("bhe,hed->bhd", q, w_k)                                     # (B, H, d)
        logits = (q_in @ ctx.tokens.transpose(1, 2)) * (d // H) ** -0.5                 # (B, H, N)
        if ctx.mask is not None:
            logits = logits.masked_fill(~ctx.mask.unsqueeze(1), float("-inf"))
        mixed = torch.softmax(logits, dim=-1) @ ctx.tokens                               # (B, H, d)
        out = torch.einsum("bhd,hed->bhe", mixed, w_v) + b_v                             # (B, H, dh)
        return self.out_proj(out.reshape(B, d))
