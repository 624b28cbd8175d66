"""Checks of the arguments every env takes (seeds, devices), written once so the envs agree.

envs imports nothing of the project, so this is its own small copy of the device check in
memory.checks, with the same wording.
"""
from __future__ import annotations

from numbers import Integral

import numpy as np
import torch


def check_seed(name: str, seed, none_means: str = "fresh OS entropy") -> int | None:
    """`seed` as a Python int (or None), before anything is seeded with it.

    numpy integers are accepted; bools and floats are refused, since `int()` would quietly
    turn 1.5 into seed 1 and True into seed 1.
    """
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral):
        raise TypeError(f"{name}={seed!r} ({type(seed).__name__}) is not a seed; "
                        f"allowed: a non-negative int, or None for {none_means}")
    if seed < 0:
        raise ValueError(f"{name}={seed!r} is negative; allowed: a non-negative int, "
                         f"or None for {none_means}")
    return int(seed)


def check_device(device) -> torch.device:
    """`device` as a torch.device that exists on this machine, checked before anything is
    allocated there (torch's own failure names neither the argument nor the way out)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device={device!r} is not a torch device; allowed: 'cpu', "
                         "or 'cuda' / 'cuda:N' where CUDA is available") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} needs CUDA, but CUDA is not available on this "
                             "machine; allowed here: device='cpu'")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device={device!r} does not exist: this machine has {count} CUDA "
                             f"device(s), cuda:0 to cuda:{count - 1}")
    return dev
