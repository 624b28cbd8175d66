"""Independent references for the memory tests: float64 brute force and a one-entry-at-a-time
bank written with plain Python lists (no tensors, no FAISS)."""
from __future__ import annotations

import numpy as np


def brute_force(xq: np.ndarray, xb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact max inner product in float64: D (nq, k), I (nq, k), -inf / -1 padding."""
    xq, xb = np.asarray(xq, np.float64), np.asarray(xb, np.float64)
    s = xq @ xb.T
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    D = np.take_along_axis(s, order, axis=1)
    pad = k - order.shape[1]
    if pad > 0:
        D = np.concatenate([D, np.full((len(xq), pad), -np.inf)], axis=1)
        order = np.concatenate([order, np.full((len(xq), pad), -1)], axis=1)
    return D, order


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


class ReferenceBank:
    """What MemoryBank should do, entry by entry. store_of(b, i) -> store id or -1."""

    def __init__(self, store_of, n_agents, n_stores, capacity, eviction="fifo", scope="episode"):
        self.store_of, self.C, self.eviction, self.scope = store_of, capacity, eviction, scope
        self.n_agents = n_agents
        self.slots = [[None] * capacity for _ in range(n_stores)]
        self.size = [0] * n_stores
        self.cursor = [0] * n_stores
        self.next_id = [0] * n_stores
        self.clock = 0

    def _slot_for(self, s, batch_ids):
        if self.eviction == "fifo":
            slot = self.cursor[s]
            self.cursor[s] = (slot + 1) % self.C
            return slot
        best, best_key = None, None
        for j, e in enumerate(self.slots[s]):
            if e is None:
                key = (-1, -1, j)
            elif (s, e["id"]) in batch_ids:
                key = (1, 0, j)       # written in this batch: evict last
            else:
                key = (0, max(e["time"], e["last_read"]), j)
            if best_key is None or key < best_key:
                best, best_key = j, key
        return best

    def write(self, keys, values, episode, step, mask):
        """keys (B, N, Dk) ...; rows in (b, i) order."""
        self.clock += 1
        B, N = mask.shape
        batch_ids = set()
        for b in range(B):
            for i in range(N):
                s = self.store_of(b, i)
                if s < 0 or not mask[b, i]:
                    continue
                slot = self._slot_for(s, batch_ids)
                e = {"id": self.next_id[s], "key": unit(keys[b, i]), "value": np.asarray(values[b, i]),
                     "writer": i, "maze": b, "episode": episode, "step": step,
                     "time": self.clock, "last_read": -1, "reads": 0}
                self.next_id[s] += 1
                batch_ids.add((s, e["id"]))
                self.slots[s][slot] = e
                self.size[s] = min(self.size[s] + 1, self.C)

    def read(self, queries, k, alive):
        """-> list over (b, i) of list of entries (best first), [] for dead / no store."""
        B, N = alive.shape
        out = {}
        for b in range(B):
            for i in range(N):
                s = self.store_of(b, i)
                if s < 0 or not alive[b, i]:
                    out[b, i] = []
                    continue
                entries = [e for e in self.slots[s] if e is not None]
                if not entries:
                    out[b, i] = []
                    continue
                D, I = brute_force(unit(queries[b, i])[None], np.stack([e["key"] for e in entries]), k)
                got = [entries[j] for j in I[0] if j >= 0]
                for e in got:
                    e["last_read"] = self.clock
                    e["reads"] += 1
                out[b, i] = [(e, d) for e, d in zip(got, D[0])]
        return out

    def on_reset(self, maze_mask, layout_changed):
        if self.scope == "lifetime":
            return
        B = len(maze_mask)
        clear = [maze_mask[b] and (self.scope == "episode" or layout_changed[b]) for b in range(B)]
        stores = set()
        for b in range(B):
            if clear[b]:
                stores |= {s for s in self._stores_of_maze(b) if s >= 0}
        for s in stores:
            self.slots[s] = [None] * self.C
            self.size[s] = 0
            self.cursor[s] = 0

    def _stores_of_maze(self, b):
        return {self.store_of(b, i) for i in range(self.n_agents)}
