"""Search backends over a bank's ring buffers: exact flat search, FAISS IVF and HNSW.

The ring buffers (memory/ring.py) are the one source of truth for keys, values and meta; a
backend only answers "which slots of store s are nearest to these queries". FAISS ids are
slots, so eviction (which overwrites a slot) keeps index, values and meta in step.

Interface of every backend (S stores, R reader rows per store):
    added(store (W,), slot (W,), old_sizes (S,))   after the ring buffer wrote W entries
    cleared(store_mask (S,))                         after stores were emptied
    search(q (S, R, Dk), active (S, R) bool, k) -> D (S, R, k) float32, I (S, R, k) slots
        best first; -inf / -1 where a store has fewer than k entries or a row is inactive
    state() -> dict of uint8 arrays; load_state(dict)   (FAISS's own serialisation, no pickle)

- `flat` (exact): on many stores one batched matmul + top-k over the (S, C, Dk) buffer (no
  loop over stores); on a single store FAISS brute-force kNN (`faiss.knn`, or `bfKnn` on the
  GPU when FAISS sees one and the bank lives on CUDA). `kernel` forces either.
- `ivf` (`IndexIVFFlat`, CPU): each store answers exactly from its buffer until it holds
  `train_size` entries, then trains its coarse quantiser on them and indexes the buffer.
  Eviction removes the overwritten slots with `remove_ids` (one scan of the lists per write
  batch) and adds the new keys under the same ids. A cleared store drops its index and
  retrains once refilled, since its new contents may come from a different layout.
- `hnsw` (`IndexHNSWFlat`, CPU): HNSW cannot remove nodes, so an overwritten slot's old node
  becomes a tombstone, filtered out of every search by an `IDSelectorBitmap`, and the graph is
  rebuilt from the live buffer once tombstones exceed `rebuild_fraction` of its nodes.
The approximate backends keep one FAISS index per store and loop over the stores touched by a
call: they are meant for a few large stores (a shared lifetime store), not for hundreds of
small ones, which `flat` searches faster anyway.
"""
from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import torch

from memory.checks import check_choice, check_int
from memory.search import as_numpy_f32, batched_knn, faiss_knn

INDEXES = ("flat", "ivf", "hnsw")
KERNELS = ("auto", "batched", "faiss")


def _empty_result(S: int, R: int, k: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.full((S, R, k), float("-inf"), device=device),
            torch.full((S, R, k), -1, dtype=torch.int64, device=device))


class FlatIndex:
    """Exact search over the ring buffers. kernel: "auto", "batched" or "faiss"."""

    name = "flat"

    def __init__(self, ring, kernel: str = "auto"):
        check_choice("kernel", kernel, KERNELS)
        self.ring = ring
        if kernel == "auto":
            kernel = "faiss" if ring.n_stores == 1 else "batched"
        self.kernel = kernel

    def added(self, store, slot, old_sizes) -> None:
        pass

    def cleared(self, store_mask) -> None:
        pass

    def search(self, q: torch.Tensor, active: torch.Tensor, k: int):
        ring = self.ring
        if self.kernel == "batched":
            return batched_knn(q, ring.keys, ring.sizes, k)
        S, R, _ = q.shape
        D, I = _empty_result(S, R, k, q.device)
        sizes = ring.sizes.tolist()
        for s in torch.nonzero(active.any(1)).flatten().tolist():
            rows = active[s]
            D[s, rows], I[s, rows] = faiss_knn(q[s, rows], ring.keys[s, :sizes[s]], k)
        return D, I

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        pass


@dataclass(frozen=True)
class IVFParams:
    """nlist: coarse cells; nprobe: cells visited per query (recall vs speed);
    train_size: entries a store needs before it trains (None = min(39 * nlist, capacity),
    FAISS's rule of thumb for k-means)."""

    nlist: int = 256
    nprobe: int = 16
    train_size: int | None = None


@dataclass(frozen=True)
class HNSWParams:
    """M: graph degree; ef_construction / ef_search: candidate list sizes when building /
    searching (recall vs speed); rebuild_fraction: tombstone share that triggers a rebuild."""

    M: int = 32
    ef_construction: int = 80
    ef_search: int = 128
    rebuild_fraction: float = 0.5


class _PerStoreIndex:
    """Shared machinery of the approximate backends: one FAISS index per store, exact
    search on stores that have none yet."""

    def __init__(self, ring):
        self.ring = ring
        self.indexes: list = [None] * ring.n_stores

    def _touched(self, store: torch.Tensor) -> list[int]:
        return torch.unique(store).tolist()

    def cleared(self, store_mask) -> None:
        for s in torch.nonzero(store_mask).flatten().tolist():
            self._drop(s)

    def _drop(self, s: int) -> None:
        self.indexes[s] = None

    def search(self, q: torch.Tensor, active: torch.Tensor, k: int):
        S, R, _ = q.shape
        D, I = _empty_result(S, R, k, q.device)
        sizes = self.ring.sizes.tolist()
        for s in torch.nonzero(active.any(1)).flatten().tolist():
            rows = active[s]
            if self.indexes[s] is None:
                D[s, rows], I[s, rows] = faiss_knn(q[s, rows], self.ring.keys[s, :sizes[s]], k)
            else:
                Dn, In = self._search_one(s, as_numpy_f32(q[s, rows]), k)
                D[s, rows] = torch.from_numpy(Dn).to(q.device)
                I[s, rows] = torch.from_numpy(In).to(q.device)
        # FAISS pads missing neighbours with -1 ids but a finite sentinel score: normalise.
        D = D.masked_fill(I < 0, float("-inf"))
        return D, I


class IVFIndex(_PerStoreIndex):
    name = "ivf"

    def __init__(self, ring, params: IVFParams = IVFParams()):
        super().__init__(ring)
        C = ring.capacity
        check_int("ivf nlist", params.nlist, 1, C)
        check_int("ivf nprobe", params.nprobe, 1, params.nlist)
        train = params.train_size if params.train_size is not None else min(39 * params.nlist, C)
        check_int("ivf train_size", train, params.nlist, C)
        self.params, self.train_size = params, train

    def _new(self, keys: np.ndarray):
        d = keys.shape[1]
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, self.params.nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = 1234  # k-means seed: the same buffer always trains the same index
        # A small train_size is the user's choice; FAISS would print a warning per store.
        index.cp.min_points_per_centroid = min(39, keys.shape[0] // self.params.nlist)
        index.train(keys)
        index.nprobe = self.params.nprobe
        index.add_with_ids(keys, np.arange(keys.shape[0], dtype=np.int64))
        return index

    def added(self, store, slot, old_sizes) -> None:
        ring = self.ring
        old = old_sizes.tolist()
        for s in self._touched(store):
            size = int(ring.sizes[s])
            if self.indexes[s] is None:
                if size >= self.train_size:
                    self.indexes[s] = self._new(as_numpy_f32(ring.keys[s, :size]))
                continue
            slots = slot[store == s].cpu().numpy().astype(np.int64)
            overwritten = slots[slots < old[s]]
            if overwritten.size:
                self.indexes[s].remove_ids(overwritten)
            self.indexes[s].add_with_ids(as_numpy_f32(ring.keys[s, torch.from_numpy(slots)]), slots)

    def _search_one(self, s: int, q: np.ndarray, k: int):
        return self.indexes[s].search(q, k)

    def state(self) -> dict[str, np.ndarray]:
        return {f"ivf_{s}": faiss.serialize_index(ix) for s, ix in enumerate(self.indexes) if ix is not None}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for s in range(len(self.indexes)):
            blob = state.get(f"ivf_{s}")
            self.indexes[s] = None if blob is None else faiss.deserialize_index(blob)
            if blob is not None:
                self.indexes[s].nprobe = self.params.nprobe


class HNSWIndex(_PerStoreIndex):
    name = "hnsw"

    def __init__(self, ring, params: HNSWParams = HNSWParams()):
        super().__init__(ring)
        check_int("hnsw M", params.M, 2)
        check_int("hnsw ef_construction", params.ef_construction, 1)
        check_int("hnsw ef_search", params.ef_search, 1)
        if not 0.0 < params.rebuild_fraction <= 1.0:
            raise ValueError(f"hnsw rebuild_fraction={params.rebuild_fraction} must be in (0, 1]")
        self.params = params
        S, C = ring.n_stores, ring.capacity
        self.slot_node = np.full((S, C), -1, dtype=np.int64)         # slot -> live node
        self.node_slot: list[np.ndarray] = [np.empty(0, np.int64) for _ in range(S)]
        self.alive: list[np.ndarray] = [np.empty(0, bool) for _ in range(S)]

    def _drop(self, s: int) -> None:
        self.indexes[s] = None
        self.slot_node[s] = -1
        self.node_slot[s] = np.empty(0, np.int64)
        self.alive[s] = np.empty(0, bool)

    def _add(self, s: int, slots: np.ndarray) -> None:
        if self.indexes[s] is None:
            index = faiss.IndexHNSWFlat(self.ring.keys.shape[2], self.params.M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.params.ef_construction
            self.indexes[s] = index
        index = self.indexes[s]
        start = index.ntotal
        index.add(as_numpy_f32(self.ring.keys[s, torch.from_numpy(slots)]))
        self.node_slot[s] = np.concatenate([self.node_slot[s], slots])
        self.alive[s] = np.concatenate([self.alive[s], np.ones(slots.size, bool)])
        self.slot_node[s, slots] = np.arange(start, start + slots.size)

    def added(self, store, slot, old_sizes) -> None:
        for s in self._touched(store):
            slots = slot[store == s].cpu().numpy().astype(np.int64)
            old_nodes = self.slot_node[s, slots]
            self.alive[s][old_nodes[old_nodes >= 0]] = False
            self._add(s, slots)
            dead = self.alive[s].size - int(self.alive[s].sum())
            if dead > self.params.rebuild_fraction * self.alive[s].size:
                size = int(self.ring.sizes[s])
                self._drop(s)
                self._add(s, np.arange(size, dtype=np.int64))

    def _search_one(self, s: int, q: np.ndarray, k: int):
        alive = self.alive[s]
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.params.ef_search, k)
        if not alive.all():
            bitmap = np.packbits(alive, bitorder="little")
            selector = faiss.IDSelectorBitmap(bitmap)
            params.sel = selector
        D, nodes = self.indexes[s].search(q, k, params=params)
        slots = np.where(nodes >= 0, self.node_slot[s][np.maximum(nodes, 0)], -1)
        return D, slots

    def state(self) -> dict[str, np.ndarray]:
        out = {"hnsw_slot_node": self.slot_node}
        for s, ix in enumerate(self.indexes):
            if ix is not None:
                out[f"hnsw_{s}"] = faiss.serialize_index(ix)
                out[f"hnsw_node_slot_{s}"] = self.node_slot[s]
                out[f"hnsw_alive_{s}"] = self.alive[s]
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.slot_node = np.array(state["hnsw_slot_node"], dtype=np.int64)
        for s in range(len(self.indexes)):
            blob = state.get(f"hnsw_{s}")
            if blob is None:
                self.indexes[s], self.node_slot[s], self.alive[s] = None, np.empty(0, np.int64), np.empty(0, bool)
            else:
                self.indexes[s] = faiss.deserialize_index(blob)
                self.node_slot[s] = np.array(state[f"hnsw_node_slot_{s}"], dtype=np.int64)
                self.alive[s] = np.array(state[f"hnsw_alive_{s}"], dtype=bool)


def make_index(name: str, ring, kernel: str = "auto", ivf: IVFParams | None = None,
               hnsw: HNSWParams | None = None):
    """The backend called `name` ("flat", "ivf" or "hnsw") over `ring`."""
    check_choice("index", name, INDEXES)
    if name == "flat":
        return FlatIndex(ring, kernel)
    if name == "ivf":
        return IVFIndex(ring, ivf or IVFParams())
    return HNSWIndex(ring, hnsw or HNSWParams())
