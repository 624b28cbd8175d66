"""Factories by name, so configs and users can build envs without importing classes.

`make("maze", **options)` -> MazeEnv, `make("maze-gym")` -> MazeGymEnv,
`make("maze-batched", n_mazes=64, device="cuda")` -> BatchedMazeEnv. Hydra configs
may instead point `_target_` at the classes directly. `register(name, factory)` adds
a new env without editing this file.
"""
from __future__ import annotations

from typing import Any, Callable

from envs.batched import BatchedMazeEnv
from envs.gym_env import MazeGymEnv
from envs.maze_env import MazeEnv

_REGISTRY: dict[str, Callable[..., Any]] = {
    "maze": MazeEnv,
    "maze-gym": MazeGymEnv,
    "maze-batched": BatchedMazeEnv,
}


def register(name: str, factory: Callable[..., Any]) -> None:
    if name in _REGISTRY:
        raise ValueError(f"env {name!r} is already registered")
    _REGISTRY[name] = factory


def registered() -> list[str]:
    return sorted(_REGISTRY)


def make(name: str, **options):
    if name not in _REGISTRY:
        raise ValueError(f"unknown env {name!r}; registered: {registered()}")
    return _REGISTRY[name](**options)
