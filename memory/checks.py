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


def per_row(name: str, t, B: int, N: int, device) -> torch.Tensor:
    """Broadcast a per-maze (B,) or per-agent (B, N) integer tensor (or a Python int) to
    (B, N) int64. Floats and bools are refused: casting 2.7 to 2 would hide a caller's bug."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t)
    if tuple(t.shape) not in ((), (B,), (B, N)):
        raise ValueError(f"{name} has shape {tuple(t.shape)}; expected a scalar, ({B},) or ({B}, {N})")
    check_integer(name, t)
    t = t.to(device=device, dtype=torch.int64)
    if t.dim() == 0:
        return t.expand(B, N)
    if t.dim() == 1:
        return t.unsqueeze(1).expand(B, N)
    return t


def check_integer(name: str, t: torch.Tensor) -> torch.Tensor:
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} has dtype {t.dtype}; expected an integer tensor (or a Python int)")
    return t


def check_device(device) -> torch.device:
    """`device` as a torch.device that exists on this machine, checked before anything is
    allocated there (torch's own failure names neither the argument nor the way out)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device={device!r} is not a torch device: {e}") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} needs CUDA, but CUDA is not available on this "
                             "machine; use device='cpu'")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device={device!r} does not exist: this machine has {count} CUDA "
                             f"device(s), cuda:0 to cuda:{count - 1}")
    return dev


def all_finite(*xs: torch.Tensor) -> torch.Tensor:
    """() bool on the tensors' device, no host sync: False if any of them may hold NaN or inf.

    A sum is finite only if every term is (NaN and inf propagate), so True is exact; False
    can also mean a sum of finite numbers overflowed, so callers locate bad rows with
    `finite_rows` before complaining. A sum is ~20x cheaper than isfinite(x).all() on a CPU.
    """
    return torch.isfinite(sum(x.sum() for x in xs))


def finite_rows(x: torch.Tensor) -> torch.Tensor:
    """(...,) bool: which rows of x (..., D) hold only finite numbers."""
    return torch.isfinite(x).all(dim=-1)


def list_some(items: list, limit: int = 8) -> str:
    """The first `limit` items, comma-separated, and how many more there are."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
