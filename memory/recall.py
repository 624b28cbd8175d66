"""What a memory read returns: the retrieved entries, padded to k and masked.

`Recall` is the one type that crosses from memory/ into agents/. Agents only read
its tensor fields (duck typing), so they never import FAISS or the stores.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass(frozen=True)
class Recall:
    """Retrieved entries for a batch of readers.

    Leading dims `L` are `(B, N)` as returned by `MemoryBank.read`, or `(B*N,)` after
    `flatten()`, which is what an agent's forward receives.

    keys    (*L, k, Dk) float32  the stored keys (zero where invalid)
    values  (*L, k, Dv) float32  the stored values (zero where invalid)
    scores  (*L, k)     float32  similarity to the query (inner product; 0 where invalid)
    mask    (*L, k)     bool     True where the slot holds a real entry
    ids     (*L, k)     int64    entry id in its store, -1 where invalid
    writers (*L, k)     int64    agent index of the writer, -1 where invalid
    """

    keys: torch.Tensor
    values: torch.Tensor
    scores: torch.Tensor
    mask: torch.Tensor
    ids: torch.Tensor
    writers: torch.Tensor

    @property
    def k(self) -> int:
        return self.mask.shape[-1]

    def flatten(self) -> "Recall":
        """Merge all leading dims into one batch dim: (B, N, k, ...) -> (B*N, k, ...)."""
        lead = self.mask.dim() - 1
        return self.map(lambda t: t.reshape(-1, *t.shape[lead:]))

    def map(self, fn) -> "Recall":
        """Apply `fn` to every tensor field (e.g. indexing, `.to(device)`, slicing)."""
        return Recall(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    @staticmethod
    def empty(lead: tuple[int, ...], k: int, key_dim: int, value_dim: int,
              device: torch.device | str = "cpu") -> "Recall":
        """An all-invalid recall (what mode `none` returns)."""
        return Recall(
            keys=torch.zeros(*lead, k, key_dim, device=device),
            values=torch.zeros(*lead, k, value_dim, device=device),
            scores=torch.zeros(*lead, k, device=device),
            mask=torch.zeros(*lead, k, dtype=torch.bool, device=device),
            ids=torch.full((*lead, k), -1, dtype=torch.int64, device=device),
            writers=torch.full((*lead, k), -1, dtype=torch.int64, device=device),
        )
