"""`MemoryBank`: the stores of B mazes x N agents, which agent uses which store, reads and writes.

    bank = MemoryBank(mode="shared", scope="layout", n_mazes=B, n_agents=N,
                      key_dim=64, value_dim=32, capacity=1024)
    bank.write(keys (B, N, Dk), values (B, N, Dv), meta={"episode": ep (B,), "step": t (B,)},
               mask=alive (B, N))
    recall = bank.read(queries (B, N, Dk), k=16, alive=alive)   # Recall, fields (B, N, k, ...)
    bank.on_reset(starts (B,), layout_changed (B,))             # mazes that begin an episode
    bank.save("bank.npz"); bank = MemoryBank.load("bank.npz")

Row layout: every per-row tensor that crosses this interface is (maze, agent)-shaped,
(B, N, ...), the env's layout; `write_entries` names each entry's (maze, agent). Inside, row
r = b * N + i indexes the flat (B*N,) tensors; the conversion happens once, on the way in
and out of each call. Callers that batch rows flat (an agent's forward) convert at their end.

Key normalisation: with `normalize=True` (the default) keys and queries are L2-normalised on
the way in (a zero vector stays zero), so scores are cosine similarities in [-1, 1]; the
stored keys are the normalised ones. With `normalize=False` scores are raw inner products.

Scope (what `on_reset(maze_mask, layout_changed)` clears; a store is cleared when any maze it
serves is):
    episode   the stores of every maze in maze_mask
    layout    the stores of mazes in maze_mask whose layout changed
    lifetime  nothing; capacity and eviction bound the stores

Thread safety: every public method holds one re-entrant lock, so threads may read and write
the same bank (shared stores included) at once; calls are serialised, not interleaved. Reads
take the lock too, since they update last-read times and read counts.

Hot paths (`read`, `write`, `on_reset` with the flat index) are tensor operations over all
stores at once; there is no Python loop over agents, mazes, stores or entries.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from memory.checks import (all_finite, check_choice, check_device, check_int, check_integer,
                           check_k, check_tensor, finite_rows, list_some, per_row)
from memory.eviction import EVICTIONS
from memory.mapping import MAPPINGS, validate_map
from memory.policy import WRITE_POLICIES, WritePolicy
from memory.recall import Recall
from memory.ring import RingStores
from memory.stats import BankStats
from memory.stores import INDEXES, KERNELS, HNSWParams, IVFParams, make_index

SCOPES = ("episode", "layout", "lifetime")
NON_FINITE = ("raise", "drop")


@dataclass(frozen=True)
class BankConfig:
    """Everything that defines a bank; validated at construction, saved with its state.

    mode          a registered mapping (memory/mapping.py): "none", "solo", "shared", ...
    scope         "episode", "layout" or "lifetime" (what on_reset clears)
    n_mazes       B
    n_agents      N
    key_dim       Dk
    value_dim     Dv
    capacity      C, entries per store (>= 1)
    index         "flat" (exact), "ivf" or "hnsw" (approximate, CPU; for large stores)
    eviction      "fifo" or "lru" (least recently read) when a store is full
    normalize     L2-normalise keys and queries (scores are then cosine similarities)
    write_policy  "every", "every_k" (step % write_every == 0) or "gated" (caller's gate)
    write_every   the k of "every_k"
    kernel        flat search kernel: "auto", "batched" or "faiss" (see memory/stores.py)
    ivf, hnsw     parameters of the approximate indexes (IVFParams, HNSWParams fields)
    non_finite    what a write does with rows whose key or value holds NaN or inf: "raise"
                  (write nothing, name the rows) or "drop" (write the other rows, count the
                  dropped ones in stats()["non_finite_dropped"])
    """

    mode: str = "shared"
    scope: str = "episode"
    n_mazes: int = 1
    n_agents: int = 1
    key_dim: int = 64
    value_dim: int = 64
    capacity: int = 1024
    index: str = "flat"
    eviction: str = "fifo"
    normalize: bool = True
    write_policy: str = "every"
    write_every: int = 1
    kernel: str = "auto"
    ivf: dict = field(default_factory=dict)
    hnsw: dict = field(default_factory=dict)
    non_finite: str = "raise"

    def __post_init__(self):
        check_choice("mode", self.mode, tuple(MAPPINGS))
        check_choice("scope", self.scope, SCOPES)
        check_choice("index", self.index, INDEXES)
        check_choice("eviction", self.eviction, EVICTIONS)
        check_choice("write_policy", self.write_policy, WRITE_POLICIES)
        check_choice("kernel", self.kernel, KERNELS)
        check_choice("non_finite", self.non_finite, NON_FINITE)
        for name in ("n_mazes", "n_agents", "key_dim", "value_dim", "capacity", "write_every"):
            check_int(name, getattr(self, name), 1)
        if not isinstance(self.normalize, bool):
            raise TypeError(f"normalize={self.normalize!r} must be a bool")
        for name, cls in (("ivf", IVFParams), ("hnsw", HNSWParams)):
            params = getattr(self, name)
            params = asdict(params) if isinstance(params, cls) else dict(params)
            allowed = tuple(cls.__dataclass_fields__)
            for key in params:
                check_choice(f"{name} parameter", key, allowed)
            object.__setattr__(self, name, params)


class MemoryBank:
    """Long-term memory of B mazes x N agents; see the module docstring. Constructor keywords
    are the fields of `BankConfig`, plus `device` (where the stores live)."""

    def __init__(self, mode: str = "shared", scope: str = "episode", n_mazes: int = 1,
                 n_agents: int = 1, key_dim: int = 64, value_dim: int = 64, capacity: int = 1024,
                 index: str = "flat", device: torch.device | str = "cpu", **options):
        self.device = check_device(device)
        self.config = BankConfig(mode=mode, scope=scope, n_mazes=n_mazes, n_agents=n_agents,
                                 key_dim=key_dim, value_dim=value_dim, capacity=capacity,
                                 index=index, **options)
        cfg = self.config
        self._lock = threading.RLock()
        B, N = cfg.n_mazes, cfg.n_agents
        self.store_of = MAPPINGS[cfg.mode](B, N).to(self.device)             # (B, N)
        self.n_stores = validate_map(self.store_of, B, N)
        self._layout_readers()
        self.ring = RingStores(self.n_stores, cfg.capacity, cfg.key_dim, cfg.value_dim,
                               cfg.eviction, self.device)
        self.index = make_index(cfg.index, self.ring, cfg.kernel,
                                IVFParams(**cfg.ivf), HNSWParams(**cfg.hnsw))
        self.policy = WritePolicy(cfg.write_policy, cfg.write_every)
        self.stats_ = BankStats(N, self.device)
        self.clock = 0

    def _layout_readers(self) -> None:
        """Precompute where each (maze, agent) row sits in the (S, R, ...) search batch:
        store `reader_store (B*N,)` and its rank among that store's readers."""
        flat = self.store_of.flatten()
        self.has_store = flat >= 0                                            # (B*N,)
        rows = torch.nonzero(self.has_store).flatten()
        S = self.n_stores
        counts = torch.bincount(flat[rows], minlength=S)
        order = torch.argsort(flat[rows], stable=True)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(rows)
        rank[order] = torch.arange(rows.numel(), device=rows.device) - starts[flat[rows][order]]
        self.reader_rows = rows                                               # (M,)
        self.reader_store = flat[rows]                                        # (M,)
        self.reader_rank = rank                                               # (M,)
        self.readers_per_store = int(counts.max()) if S else 0
        B, N = self.store_of.shape
        self.row_agent = torch.arange(N, device=self.device).repeat(B)        # (B*N,)
        self.row_maze = torch.arange(B, device=self.device).repeat_interleave(N)

    # ------------------------------------------------------------------ writes
    def write(self, keys: torch.Tensor, values: torch.Tensor, meta, mask: torch.Tensor | None = None,
              gate: torch.Tensor | None = None) -> int:
        """Store one entry per selected (maze, agent) row.

        keys (B, N, Dk), values (B, N, Dv); meta: a mapping (or object with attributes)
        `episode` and `step`, each a scalar, (B,) or (B, N) int >= 0; the writer agent and
        maze are the row's position. mask (B, N) bool: rows that may write (alive agents);
        gate (B, N) bool: the per-row decision for write_policy "gated". A row is written
        where mask, the policy and the gate allow it and the row has a store.

        A written row's key and value must be finite (a NaN key would score first for every
        reader of its store); see `non_finite` in BankConfig for what happens otherwise.
        Rows that are not written are not checked. A call that raises changes nothing.
        Returns the number of entries written (two host syncs: the input check and the
        selection of rows).
        """
        cfg = self.config
        B, N = cfg.n_mazes, cfg.n_agents
        check_tensor("keys", keys, (B, N, cfg.key_dim), "float")
        check_tensor("values", values, (B, N, cfg.value_dim), "float")
        if mask is not None:
            check_tensor("mask", mask, (B, N), "bool")
        if gate is not None:
            check_tensor("gate", gate, (B, N), "bool")
        episode = per_row("meta episode", _meta_field(meta, "episode"), B, N, self.device).reshape(-1)
        step = per_row("meta step", _meta_field(meta, "step"), B, N, self.device).reshape(-1)
        # float32 first: a finite float64 beyond float32's range would be stored as inf.
        keys = keys.detach().to(torch.float32).reshape(B * N, -1)
        values = values.detach().to(torch.float32).reshape(B * N, -1)
        with self._lock:
            rows = torch.zeros(B * N, dtype=torch.bool, device=self.device)
            if self.n_stores:
                gate = None if gate is None else gate.to(self.device).flatten()
                rows = self.policy.rows_to_write(step, gate) & self.has_store
                if mask is not None:
                    rows = rows & mask.to(self.device).flatten()
            rows = self._admit(rows, keys, values, {"meta episode": episode, "meta step": step},
                               "row (maze, agent)", lambda r: (r // N, r % N))
            self.clock += 1
            if self.n_stores == 0:
                return 0
            sel = torch.nonzero(rows).flatten()                               # (W,)
            return self._store(sel, keys[sel.to(keys.device)], values[sel.to(values.device)],
                               episode[sel], step[sel])

    def write_entries(self, maze: torch.Tensor, agent: torch.Tensor, keys: torch.Tensor,
                      values: torch.Tensor, episode: torch.Tensor, step: torch.Tensor,
                      gate: torch.Tensor | None = None) -> int:
        """Store W entries at once, each written by its own (maze, agent): for writers that
        add many entries per row in one call (a finished episode's steps, see
        memory/hindsight.py).

        maze, agent, episode, step (W,) int (episode and step >= 0); keys (W, Dk), values
        (W, Dv); gate (W,) bool for write_policy "gated". The write policy applies to each
        entry's `step`. Entries of one store keep their order; one bank clock tick for the
        whole call. Keys and values of written entries must be finite, as in `write`.
        Returns the number of entries written.
        """
        cfg = self.config
        B, N = cfg.n_mazes, cfg.n_agents
        W = check_tensor("keys", keys, (None, cfg.key_dim), "float").shape[0]
        check_tensor("values", values, (W, cfg.value_dim), "float")
        for name, t in (("maze", maze), ("agent", agent), ("episode", episode), ("step", step)):
            check_tensor(name, t, (W,))
            check_integer(name, t)
        if gate is not None:
            check_tensor("gate", gate, (W,), "bool")
        maze, agent = maze.to(self.device, torch.int64), agent.to(self.device, torch.int64)
        for name, t, n in (("maze", maze, B), ("agent", agent, N)):
            bad = (t < 0) | (t >= n)
            if bool(bad.any()):
                raise ValueError(f"{name} index {int(t[bad][0])} is outside [0, {n})")
        step, episode = step.to(self.device, torch.int64), episode.to(self.device, torch.int64)
        keys, values = keys.detach().to(torch.float32), values.detach().to(torch.float32)
        with self._lock:
            row = maze * N + agent
            ok = torch.zeros(W, dtype=torch.bool, device=self.device)
            if self.n_stores and W:
                ok = self.policy.rows_to_write(step, None if gate is None else gate.to(self.device))
                ok = ok & self.has_store[row]
            ok = self._admit(ok, keys, values, {"episode": episode, "step": step},
                             "entry", lambda i: f"{i} (maze {int(maze[i])}, agent {int(agent[i])})")
            self.clock += 1
            if self.n_stores == 0 or W == 0:
                return 0
            sel = torch.nonzero(ok).flatten()                                  # (W',)
            return self._store(row[sel], keys[sel.to(keys.device)], values[sel.to(values.device)],
                               episode[sel], step[sel])

    def _admit(self, rows: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
               counts: dict[str, torch.Tensor], row_kind: str, name_row) -> torch.Tensor:
        """The rows (W,) bool of a write that may be stored, after checking the call's input
        (lock held, nothing changed yet): `counts` (W,) int must be >= 0, and the keys (W, Dk)
        and values (W, Dv) of selected rows finite. Non-finite rows raise or, with
        non_finite="drop", are left out and counted. Errors name rows as `row_kind` and
        `name_row(i)`."""
        # The common case costs one sum per tensor and one host sync; rows are only located
        # when something may be wrong (see all_finite).
        fine = all_finite(keys, values).to(self.device)
        for t in counts.values():
            fine = fine & (t >= 0).all()
        if bool(fine):
            return rows

        def at(bad: torch.Tensor) -> str:
            rows_found = torch.nonzero(bad).flatten().tolist()
            return f"{row_kind} " + list_some([name_row(i) for i in rows_found])

        for name, t in counts.items():
            if bool((t < 0).any()):
                raise ValueError(f"{name} must be >= 0; got {int(t[t < 0][0])} at {at(t < 0)}")
        bad_key = ~finite_rows(keys).to(self.device) & rows
        bad_value = ~finite_rows(values).to(self.device) & rows
        if self.config.non_finite == "drop":
            self.stats_.non_finite_dropped += (bad_key | bad_value).sum()
            return rows & ~(bad_key | bad_value)
        found = [f"{name} at {at(bad)}" for name, bad in (("keys", bad_key), ("values", bad_value))
                 if bool(bad.any())]
        if found:
            raise ValueError("non-finite numbers (NaN or inf) in " + "; ".join(found) + ". Nothing "
                             "was written; a bank made with non_finite='drop' skips such rows")
        return rows

    def _store(self, row: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
               episode: torch.Tensor, step: torch.Tensor) -> int:
        """Write entries of flat (maze, agent) rows `row` (W,) into their stores (lock held)."""
        k = keys.to(self.device)
        if self.config.normalize:
            k = F.normalize(k, dim=-1)
        v = values.to(self.device)
        store = self.store_of.flatten()[row]
        meta_rows = {"writer": self.row_agent[row], "maze": self.row_maze[row],
                     "episode": episode, "step": step}
        s, slot, old_sizes = self.ring.write(store, k, v, meta_rows, self.clock)
        self.index.added(s, slot, old_sizes)
        self.stats_.writes += row.numel()
        self.stats_.writes_per_agent += torch.bincount(meta_rows["writer"], minlength=self.config.n_agents)
        return int(row.numel())

    # ------------------------------------------------------------------- reads
    def read(self, queries: torch.Tensor, k: int, alive: torch.Tensor | None = None) -> Recall:
        """The k entries nearest to each row's query in that row's store.

        queries (B, N, Dk); alive (B, N) bool (None = all alive). Returns a `Recall` with
        fields (B, N, k, ...) on the queries' device, best first. Slots beyond a store's
        size, rows of dead agents and rows without a store are masked (scores 0, ids and
        writers -1, keys and values 0). `writers` is the writer's agent index; `ids` the
        entry's id in its store. A query with NaN or inf of a row that searches raises
        before anything is read.
        """
        cfg = self.config
        B, N = cfg.n_mazes, cfg.n_agents
        check_tensor("queries", queries, (B, N, cfg.key_dim), "float")
        check_k(k)
        if alive is not None:
            check_tensor("alive", alive, (B, N), "bool")
        out_device = queries.device
        with self._lock:
            if self.n_stores == 0:
                return Recall.empty((B, N), k, cfg.key_dim, cfg.value_dim, out_device)
            q = queries.detach().to(self.device, torch.float32).reshape(B * N, -1)
            if cfg.normalize:
                q = F.normalize(q, dim=-1)
            searching = self.has_store.clone()
            if alive is not None:
                searching &= alive.to(self.device).flatten()
            self._check_queries(q, searching)
            rows, rs, rr = self.reader_rows, self.reader_store, self.reader_rank
            S, R = self.n_stores, self.readers_per_store
            Q = q.new_zeros(S, R, cfg.key_dim)
            Q[rs, rr] = q[rows]
            A = torch.zeros(S, R, dtype=torch.bool, device=self.device)
            A[rs, rr] = searching[rows]
            D, I = self.index.search(Q.contiguous(), A, k)                    # (S, R, k)

            slot = torch.full((B * N, k), -1, dtype=torch.int64, device=self.device)
            score = torch.full((B * N, k), float("-inf"), device=self.device)
            slot[rows], score[rows] = I[rs, rr], D[rs, rr]
            store = self.store_of.flatten().clamp(min=0).unsqueeze(1).expand(B * N, k)
            mask = (slot >= 0) & searching.unsqueeze(1)                       # (B*N, k)
            got = self.ring.gather(store, slot, ("keys", "values", "entry_id", "writer", "maze", "write_time"))
            self._count_read(got, score, mask, searching)
            self.ring.touch(store[mask], slot[mask], self.clock)

            m = mask.unsqueeze(-1)
            recall = Recall(
                keys=(got["keys"] * m).view(B, N, k, -1),
                values=(got["values"] * m).view(B, N, k, -1),
                scores=score.masked_fill(~mask, 0.0).view(B, N, k),
                mask=mask.view(B, N, k),
                ids=got["entry_id"].masked_fill(~mask, -1).view(B, N, k),
                writers=got["writer"].masked_fill(~mask, -1).view(B, N, k),
            )
        return recall if out_device == self.device else recall.map(lambda t: t.to(out_device))

    def _check_queries(self, q: torch.Tensor, searching: torch.Tensor) -> None:
        """Refuse NaN or inf in the queries (B*N, Dk) of searching rows: NaN scores would
        rank first and mark entries as read. One host sync; rows located only on failure."""
        if bool(all_finite(q)):
            return
        N = self.config.n_agents
        bad = torch.nonzero(~finite_rows(q) & searching).flatten().tolist()
        if bad:
            raise ValueError("non-finite numbers (NaN or inf) in queries at row (maze, agent) "
                             f"{list_some([(r // N, r % N) for r in bad])}; nothing was read")

    def _count_read(self, got, score, mask, searching) -> None:
        st = self.stats_
        hit = mask[:, 0]
        st.reads += searching.sum()
        st.hits += hit.sum()
        st.top1_sum += score[:, 0].masked_fill(~hit, 0.0).sum(dtype=torch.float64)
        st.retrieved += mask.sum()
        age = (self.clock - got["write_time"]).masked_fill(~mask, 0)
        st.age_sum += age.sum()
        foreign = (got["writer"] != self.row_agent.unsqueeze(1)) | (got["maze"] != self.row_maze.unsqueeze(1))
        st.foreign += (foreign & mask).sum()

    # ------------------------------------------------------------------ resets
    def on_reset(self, maze_mask: torch.Tensor, layout_changed: torch.Tensor | None = None) -> None:
        """Clear what the scope says for the mazes being reset.

        maze_mask (B,) bool: mazes starting a new episode; layout_changed (B,) bool: of
        those, the ones whose layout changed (None = none changed).
        """
        B = self.config.n_mazes
        check_tensor("maze_mask", maze_mask, (B,), "bool")
        if layout_changed is not None:
            check_tensor("layout_changed", layout_changed, (B,), "bool")
        scope = self.config.scope
        if scope == "lifetime" or self.n_stores == 0:
            return
        clear = maze_mask.to(self.device)
        if scope == "layout":
            if layout_changed is None:
                return
            clear = clear & layout_changed.to(self.device)
        with self._lock:
            ids = self.store_of[clear].flatten()
            stores = torch.zeros(self.n_stores, dtype=torch.bool, device=self.device)
            stores[ids[ids >= 0]] = True
            self.ring.clear(stores)
            self.index.cleared(stores)

    def clear(self, stores: torch.Tensor | None = None) -> None:
        """Empty the stores where `stores` (S,) bool is True, or every store (counters and
        the clock are kept)."""
        if stores is not None:
            check_tensor("stores", stores, (self.n_stores,), "bool")
        with self._lock:
            if stores is None:
                stores = torch.ones(self.n_stores, dtype=torch.bool, device=self.device)
            stores = stores.to(self.device)
            self.ring.clear(stores)
            self.index.cleared(stores)

    def private_stores(self, maze_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(S,) bool: stores with a single reader, among the stores of mazes in `maze_mask`
        (B,) (all if None). What a newcomer does not inherit: a solo store is its writer's
        own; a store shared by several agents is the group's."""
        B = self.config.n_mazes
        if maze_mask is not None:
            check_tensor("maze_mask", maze_mask, (B,), "bool")
        with self._lock:
            readers = torch.bincount(self.reader_store, minlength=self.n_stores)
            of_mazes = torch.zeros(self.n_stores, dtype=torch.bool, device=self.device)
            ids = self.store_of if maze_mask is None else self.store_of[maze_mask.to(self.device)]
            ids = ids.flatten()
            of_mazes[ids[ids >= 0]] = True
            return of_mazes & (readers == 1)

    # ------------------------------------------------------------- inspection
    def sizes(self) -> torch.Tensor:
        """Entries per store (S,) int64."""
        with self._lock:
            return self.ring.sizes.clone()

    def stats(self) -> dict:
        """Sizes, reads, writes, hit rate, mean top-1 similarity, mean age of retrieved
        entries (in write calls), cultural share (fraction of retrieved entries written by
        another agent) and writes per agent index; plain Python numbers."""
        with self._lock:
            sizes = self.ring.sizes.double()
            out = {
                "n_stores": self.n_stores,
                "capacity": self.config.capacity,
                "size_total": int(sizes.sum()) if self.n_stores else 0,
                "size": float(sizes.mean()) if self.n_stores else 0.0,  # entries per store
                "size_max": int(sizes.max()) if self.n_stores else 0,
                "clock": self.clock,
            }
            out.update(self.stats_.summary())
            return out

    def reset_stats(self) -> None:
        with self._lock:
            self.stats_.reset()

    # ------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the complete state to `path` atomically (see memory/persist.py)."""
        from memory.persist import save_bank
        with self._lock:
            save_bank(self, path)

    @classmethod
    def load(cls, path, device: torch.device | str | None = None) -> "MemoryBank":
        """A new bank with the state saved at `path` (on `device`, default CPU)."""
        from memory.persist import load_bank
        return load_bank(cls, path, device)

    def __repr__(self) -> str:
        c = self.config
        return (f"MemoryBank(mode={c.mode!r}, scope={c.scope!r}, B={c.n_mazes}, N={c.n_agents}, "
                f"stores={self.n_stores}x{c.capacity}, index={c.index!r}, device={self.device})")


def _meta_field(meta, name: str):
    if isinstance(meta, Mapping):
        if name not in meta:
            raise KeyError(f"meta lacks {name!r}; it needs 'episode' and 'step'")
        return meta[name]
    if not hasattr(meta, name):
        raise KeyError(f"meta lacks {name!r}; it needs 'episode' and 'step'")
    return getattr(meta, name)


