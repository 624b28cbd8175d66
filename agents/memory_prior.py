"""A policy and value prior read straight from retrieved memory entries (episodic-control style).

Agents that read a store only through attention into their recurrent state must learn from
reward alone which entry to follow. Systems that made agents exploit a retrieval store gave the
reader a direct path as well: a value or an action preference computed from what was retrieved
(NEC, MFEC, episodic control). This is that path, learned end to end by the policy gradient and
the value loss (on the culture task it did no better than attention alone: docs/memory.md):

    x_j   = [value_j, score_j]                        each retrieved entry j (B, k, Dv + 1)
    w     = softmax([null, relevance(x_1..x_k)])      how much each entry counts; `null` is a
                                                      learned "nothing relevant" slot, and
                                                      invalid entries count zero
    prior = sum_j w_j * vote(x_j)                     (B, A + 1): action logits and a value

The agent adds `prior` to its own logits and value. Both are MLPs over the entry alone, so
they can learn, say, "an entry whose writer reached the goal in few steps votes for its
action" without knowing the value layout in advance. `vote`'s last layer starts small (the
actor's initialisation, gain 0.01): an agent starts out almost as it would without the prior,
and every parameter of it gets a gradient from the first update.
"""
from __future__ import annotations

import torch
from torch import nn


class MemoryPrior(nn.Module):
    """recall with values (B, k, Dv), scores (B, k), mask (B, k) -> (logits (B, A), value (B,))."""

    def __init__(self, value_dim: int, n_actions: int, hidden: int = 32):
        super().__init__()
        if value_dim < 1 or hidden < 1:
            raise ValueError(f"memory prior: value_dim={value_dim} and prior_hidden={hidden} must be >= 1")
        self.n_actions = n_actions
        n_in = value_dim + 1
        self.relevance = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.vote = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_actions + 1))
        nn.init.orthogonal_(self.vote[-1].weight, 0.01)
        nn.init.zeros_(self.vote[-1].bias)
        self.null = nn.Parameter(torch.zeros(1))

    def forward(self, recall, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`like` gives the dtype and device of the zeros returned when nothing was retrieved."""
        if recall is None or recall.mask.shape[1] == 0:
            return like.new_zeros(batch, self.n_actions), like.new_zeros(batch)
        x = torch.cat([recall.values, recall.scores.unsqueeze(-1)], dim=-1).to(like.dtype)   # (B, k, Dv+1)
        relevance = self.relevance(x).squeeze(-1).masked_fill(~recall.mask.to(torch.bool), float("-inf"))
        weights = torch.softmax(torch.cat([self.null.expand(batch, 1), relevance], dim=1), dim=1)[:, 1:]
        prior = (weights.unsqueeze(-1) * self.vote(x)).sum(1)                                 # (B, A+1)
        return prior[:, :self.n_actions], prior[:, self.n_actions]
