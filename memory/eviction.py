"""Which ring-buffer slot each new entry goes to: eviction policies `fifo` and `lru`.

Every store keeps its entries in the prefix `[0, size)` of its slots: entries are only ever
added into the first free slot or written over an existing one, and a store is only ever
cleared whole. That invariant is what lets search treat a store as "the first `size` rows".

- `fifo`: a cursor walks the slots; when full, the oldest entry is overwritten.
- `lru` (least recently read): free slots first, then the entry whose last use (its last
  read, or its write if never read) is oldest; ties go to the lower slot.

One call places a whole batch of writes to many stores (W rows) without a Python loop. When
a store receives more than `capacity` writes in one batch only its last `capacity` are kept,
which is what writing them one by one would leave.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

EVICTIONS = ("fifo", "lru")


@dataclass
class Placement:
    """Where a batch of W writes lands.

    keep  (W,) bool   False for writes superseded by later ones in the same batch
    slot  (W,) int64  slot in the row's store (meaningful where keep)
    sizes (S,) int64  store sizes after the batch
    cursor (S,) int64 fifo cursor after the batch
    rank  (W,) int64  the row's rank among the batch's writes to its store
    """

    keep: torch.Tensor
    slot: torch.Tensor
    sizes: torch.Tensor
    cursor: torch.Tensor
    rank: torch.Tensor


def rank_within_group(group: torch.Tensor, n_groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For rows labelled `group (W,)`: each row's rank among its group's rows in row order,
    and counts (n_groups,) of rows per group."""
    W = group.shape[0]
    counts = torch.bincount(group, minlength=n_groups)
    order = torch.argsort(group, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(group)
    rank[order] = torch.arange(W, device=group.device) - starts[group[order]]
    return rank, counts


def place(policy: str, store: torch.Tensor, sizes: torch.Tensor, cursor: torch.Tensor,
          recency: torch.Tensor) -> Placement:
    """Choose slots for writes `store (W,)` into stores of shape (S, C).

    sizes (S,), cursor (S,) as kept by the ring buffer; recency (S, C) int64 last-use time of
    each slot (only read by `lru`).
    """
    S, C = recency.shape
    rank, counts = rank_within_group(store, S)
    dropped = (counts - counts.clamp(max=C))[store]          # earliest writes beyond capacity
    keep = rank >= dropped
    eff = (rank - dropped).clamp(min=0)
    new_sizes = (sizes + counts).clamp(max=C)
    new_cursor = (cursor + counts) % C
    if policy == "fifo":
        slot = (cursor[store] + rank) % C
    elif policy == "lru":
        m = int(counts.max().clamp(max=C).item()) if store.numel() else 0
        if m == 0:
            slot = torch.zeros_like(store)
        else:
            slots = torch.arange(C, device=recency.device).view(1, C)
            # Unique sort keys: free slots first in slot order (keeps the prefix invariant),
            # then used slots by last use, ties by slot.
            key = torch.where(slots < sizes.view(S, 1), recency * C + slots, slots - C)
            lowest = key.topk(m, dim=1, largest=False, sorted=True).indices    # (S, m)
            slot = lowest[store, eff.clamp(max=m - 1)]
    else:
        raise ValueError(f"eviction={policy!r} is not allowed; choose one of {EVICTIONS}")
    return Placement(keep=keep, slot=slot, sizes=new_sizes, cursor=new_cursor, rank=rank)
