"""A memory bank's statistics as the scalars training and evaluation log.

The names are memory/stats.py's own (`LOGGED`); this module only adds the prefix, so train.py
and evaluate.py share it without importing each other.
"""
from __future__ import annotations

from memory.stats import logged_scalars


def memory_scalars(stats: dict, prefix: str = "memory/") -> dict[str, float]:
    """`MemoryBank.stats()` under their TensorBoard tags, e.g. memory/retrieved_age."""
    return {prefix + name: value for name, value in logged_scalars(stats).items()}
