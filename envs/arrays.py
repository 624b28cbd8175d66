"""The few array operations that numpy and torch spell differently.

The rules (envs.rules) and the state (envs.world) are written once against these
helpers and the operators both libraries share (indexing, `reshape`, `where`,
comparisons, bit operations, `@`), so the same code runs on either backend:

- "torch" for B mazes on any device (`BatchedMazeEnv`);
- "numpy" for one maze on the CPU (`MazeEnv`, `MazeGymEnv`), where torch's fixed cost
  per operation (several microseconds) would dominate arrays of a few elements.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

BACKENDS = ("torch", "numpy")
Array = Union[torch.Tensor, np.ndarray]


def module(x: Array):
    """The array module of `x`: torch for tensors, numpy for ndarrays."""
    return torch if isinstance(x, torch.Tensor) else np


def cast(x: Array, dtype) -> Array:
    """`x` converted to `dtype` (a dtype of `x`'s own module)."""
    return x.to(dtype) if isinstance(x, torch.Tensor) else x.astype(dtype)


def batch_index(a: Array):
    """An index of `a`'s leading dimension that broadcasts against (B, K) indices."""
    if isinstance(a, torch.Tensor):
        return torch.arange(a.shape[0], device=a.device)[:, None]
    return 0 if a.shape[0] == 1 else np.arange(a.shape[0])[:, None]  # a plain 0 is cheaper


def gather(a: Array, index: Array) -> Array:
    """`out[b, j] = a[b, index[b, j]]` for 2-D `a` and `index`."""
    if isinstance(a, torch.Tensor):
        return a.gather(1, index)
    # Plain fancy indexing: several times cheaper than np.take_along_axis on tiny arrays.
    return a[batch_index(a), index]


def at(grid: Array, row: Array, col: Array) -> Array:
    """`out[b, k] = grid[b, row[b, k], col[b, k]]` for `grid` (B, H, W) and `row`, `col` (B, K)."""
    if isinstance(grid, torch.Tensor):  # gather beats advanced indexing on torch's CPU
        return grid.reshape(grid.shape[0], -1).gather(1, row * grid.shape[-1] + col)
    return grid[batch_index(grid), row, col]


def put(a: Array, index: Array, value) -> Array:
    """A copy of 2-D `a` with `out[b, index[b, j]] = value`."""
    if isinstance(a, torch.Tensor):
        return a.scatter(1, index, value)
    out = a.copy()
    out[batch_index(out), index] = value
    return out


def scatter_add_(a: Array, index: Array, values: Array) -> None:
    """In place: `a[b, index[b, j]] += values[b, j]`, repeated indices accumulating."""
    if isinstance(a, torch.Tensor):
        a.scatter_add_(1, index, values)
    else:
        np.add.at(a, (batch_index(a), index), values)


def permute(x: Array, axes: tuple[int, ...]) -> Array:
    """A view of `x` with its axes in the order `axes`."""
    return x.permute(axes) if isinstance(x, torch.Tensor) else x.transpose(axes)


def nonzero(mask: Array) -> list[int]:
    """Indices of the true entries of a 1-D boolean array."""
    if isinstance(mask, torch.Tensor):
        return torch.nonzero(mask).flatten().tolist()
    return np.flatnonzero(mask).tolist()


_ON_DEVICE: dict[tuple[int, torch.device], tuple[np.ndarray, torch.Tensor]] = {}


def constant(table: np.ndarray, like: Array) -> Array:
    """A module-level constant numpy `table` on the backend and device of `like`. Copied to
    a torch device once and kept, so a step pays no host-to-device copy for it."""
    if not isinstance(like, torch.Tensor):
        return table
    key = (id(table), like.device)
    if key not in _ON_DEVICE:  # the entry holds `table` too, so its id is never reused
        _ON_DEVICE[key] = (table, torch.as_tensor(table, device=like.device))
    return _ON_DEVICE[key][1]


def from_numpy(array: np.ndarray, backend: str, device) -> Array:
    """`array` on `backend`: a torch tensor on `device`, or the ndarray itself."""
    if backend == "numpy":
        return array
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)
