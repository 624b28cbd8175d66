"""The entries of all stores of a bank, as one set of (S, C, ...) tensors (a ring buffer each).

S stores of capacity C live side by side, so a write to every store or a search of every
store is one tensor operation, never a loop over stores or entries. Store s holds its entries
in slots `[0, sizes[s])` (see memory/eviction.py for why that prefix invariant holds).

Per slot (S, C):
    keys        (S, C, Dk) float32   L2-normalised when the bank normalises (the default)
    values      (S, C, Dv) float32
    entry_id    int64  unique per store, increasing in write order, never reused (-1 = empty)
    writer      int64  agent index of the writer
    maze        int64  maze index of the writer
    episode     int64  caller's episode id at write time
    step        int64  caller's step within the episode at write time
    write_time  int64  bank clock (one tick per `MemoryBank.write` call) at write time
    last_read   int64  bank clock at the last read that returned the entry (-1 = never)
    read_count  int64  how many reads returned the entry
Per store (S,): sizes, cursor (fifo write position), next_id (next entry id).
"""
from __future__ import annotations

import torch

from memory.eviction import place

META_FIELDS = ("entry_id", "writer", "maze", "episode", "step", "write_time", "last_read", "read_count")
STORE_FIELDS = ("sizes", "cursor", "next_id")


class RingStores:
    """S fixed-capacity stores. Not thread-safe on its own: the bank's lock guards it."""

    def __init__(self, n_stores: int, capacity: int, key_dim: int, value_dim: int,
                 eviction: str, device: torch.device):
        S, C = n_stores, capacity
        self.eviction = eviction
        self.capacity = C
        self.keys = torch.zeros(S, C, key_dim, device=device)
        self.values = torch.zeros(S, C, value_dim, device=device)
        for name in META_FIELDS:
            setattr(self, name, torch.full((S, C), -1, dtype=torch.int64, device=device))
        self.read_count.zero_()
        for name in STORE_FIELDS:
            setattr(self, name, torch.zeros(S, dtype=torch.int64, device=device))

    @property
    def n_stores(self) -> int:
        return self.keys.shape[0]

    def write(self, store: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
              meta: dict[str, torch.Tensor], time: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Add W entries: store (W,), keys (W, Dk), values (W, Dv), meta {writer, maze, episode,
        step}: (W,) int64. Returns (store, slot, old_size) of the entries actually written
        (a store written more than C times in one batch keeps its last C), so index
        backends can follow the change; old_size (S,) is the sizes before the write."""
        # Only lru reads recency; skip the (S, C) temporary for fifo.
        recency = (torch.maximum(self.write_time, self.last_read) if self.eviction == "lru"
                   else self.write_time)
        p = place(self.eviction, store, self.sizes, self.cursor, recency)
        s, slot = store[p.keep], p.slot[p.keep]
        old_sizes = self.sizes
        # Entry ids follow write order within each store, counting superseded writes too, so
        # an id says how many writes the store had seen.
        counts = torch.bincount(store, minlength=self.n_stores)
        ids = self.next_id[store] + p.rank
        self.keys[s, slot] = keys[p.keep]
        self.values[s, slot] = values[p.keep]
        self.entry_id[s, slot] = ids[p.keep]
        for name in ("writer", "maze", "episode", "step"):
            getattr(self, name)[s, slot] = meta[name][p.keep]
        self.write_time[s, slot] = time
        self.last_read[s, slot] = -1
        self.read_count[s, slot] = 0
        self.next_id += counts
        self.sizes, self.cursor = p.sizes, p.cursor
        return s, slot, old_sizes

    def touch(self, store: torch.Tensor, slot: torch.Tensor, time: int) -> None:
        """Mark entries (store (M,), slot (M,)) as read now (duplicates count every read)."""
        self.last_read[store, slot] = time
        self.read_count.index_put_((store, slot), torch.ones_like(slot), accumulate=True)

    def clear(self, store_mask: torch.Tensor) -> None:
        """Empty the stores where store_mask (S,) is True (ids keep counting)."""
        # Index the chosen stores: a boolean-mask assignment walks every slot of every store
        # (0.1 s per call for 256 stores x 2048 slots on a CPU, paid on every env step).
        idx = torch.nonzero(store_mask).flatten()
        if idx.numel() == 0:
            return
        self.keys.index_fill_(0, idx, 0.0)
        self.values.index_fill_(0, idx, 0.0)
        for name in META_FIELDS:
            getattr(self, name).index_fill_(0, idx, 0 if name == "read_count" else -1)
        self.sizes = self.sizes.index_fill(0, idx, 0)
        self.cursor = self.cursor.index_fill(0, idx, 0)

    def gather(self, store: torch.Tensor, slot: torch.Tensor,
               names: tuple[str, ...] = ("keys", "values") + META_FIELDS) -> dict[str, torch.Tensor]:
        """Fields `names` of entries store (...,), slot (...,) (slot -1 reads slot 0: mask it)."""
        s, i = store, slot.clamp(min=0)
        return {name: getattr(self, name)[s, i] for name in names}

    def state(self) -> dict[str, torch.Tensor]:
        """Every tensor, by name (what persistence saves)."""
        names = ("keys", "values") + META_FIELDS + STORE_FIELDS
        return {name: getattr(self, name) for name in names}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        for name, t in self.state().items():
            src = state[name]
            if src.shape != t.shape or src.dtype != t.dtype:
                raise ValueError(f"field {name!r} has shape {tuple(src.shape)} {src.dtype}; "
                                 f"expected {tuple(t.shape)} {t.dtype}")
            setattr(self, name, src.to(t.device).clone())

