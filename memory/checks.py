"""Argument checks shared by the memory modules: errors name the value and what is allowed."""
from __future__ import annotations

from typing import Iterable

import torch

MAX_K = 2048  # FAISS GPU k-selection limit; kept on the CPU too so a config runs on both.


def check_choice(name: str, value, allowed: Iterable) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {allowed}")


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """An int in [low, high]; bools and floats are refused (a float capacity is a config typo)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value} must be {span}")
    return value


def check_k(k) -> int:
    return check_int("k", k, 1, MAX_K)


def check_tensor(name: str, t, shape: tuple, dtype_kind: str | None = None) -> torch.Tensor:
    """`t` must be a tensor of exactly `shape` (None = any size in that dim).

    dtype_kind: "float", "bool" or None (anything).
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(t).__name__}")
    ok = t.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, t.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} has shape {tuple(t.shape)}; expected {want}")
    if dtype_kind == "float" and not t.is_floating_point():
        raise TypeError(f"{name} has dtype {t.dtype}; expected a floating-point tensor")
    if dtype_kind == "bool" and t.dtype != torch.bool:
        raise TypeError(f"{name} has dtype {t.dtype}; expected torch.bool")
    return t


def per_row(name: str, t, B: int, N: int, device, dtype=torch.int64) -> torch.Tensor:
    """Broadcast a per-maze (B,) or per-agent (B, N) tensor (or a Python scalar) to (B, N)."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t)
    t = t.to(device=device, dtype=dtype)
    if t.dim() == 0:
        return t.expand(B, N)
    if tuple(t.shape) == (B,):
        return t.unsqueeze(1).expand(B, N)
    if tuple(t.shape) == (B, N):
        return t
    raise ValueError(f"{name} has shape {tuple(t.shape)}; expected a scalar, ({B},) or ({B}, {N})")
