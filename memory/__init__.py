"""Long-term memory: FAISS-backed stores, the bank that maps agents to stores, reads and writes.

Modules, one job each:
    recall          Recall, what a read returns (the type agents see)
    read_attention  ReadAttention, differentiable attention over a Recall
    bank            MemoryBank and BankConfig: modes, scopes, read / write / on_reset / stats
    mapping         (maze, agent) -> store maps: none, solo, shared, register_mapping, team_map
    ring            the (S, C, ...) tensors holding every store's entries and meta
    eviction        which slot a new entry takes: fifo, lru
    stores          search backends over the ring buffers: flat, ivf, hnsw
    search          exact kNN kernels (FAISS brute force, batched matmul + top-k)
    policy          write policy: every, every_k, gated
    outcome         OutcomeCodec: the value layout of outcome-labelled entries
    hindsight       HindsightWriter: buffers each row's episode, writes it labelled when it ends
    persist         atomic .npz save / load
    stats           read and write counters
"""
from memory.bank import BankConfig, MemoryBank
from memory.mapping import register_mapping, team_map
from memory.persist import MemoryFileError
from memory.read_attention import ReadAttention
from memory.recall import Recall
from memory.stores import HNSWParams, IVFParams

__all__ = ["BankConfig", "HNSWParams", "IVFParams", "MemoryBank", "MemoryFileError", "Recall",
           "ReadAttention", "register_mapping", "team_map"]
