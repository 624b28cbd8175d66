"""Who reads and writes which store: a map (maze b, agent i) -> store id.

A sharing pattern is nothing but such a map, an int64 tensor `store_of (B, N)` with ids
0..S-1, or -1 for "no memory". The bank never branches on the mode's name; a new pattern
(teams, one store across mazes, generations) is a new function registered here:

    @register_mapping("pairs")
    def pairs(n_mazes, n_agents):                 # agents 0-1 share, 2-3 share, ...
        return team_map(n_mazes, n_agents, team_size=2)

    MemoryBank(mode="pairs", ...)

A training run uses it as `memory.mode=pairs` once the module that registers it is named in
`memory.plugins` (imported before the mode is checked):

    python -m experiments.train memory.plugins=[my_package.my_mappings] memory.mode=pairs

Built in:
    none    every entry -1: no stores at all
    solo    one store per agent per maze: store = b * N + i
    shared  one store per maze, read and written by all its agents: store = b
"""
from __future__ import annotations

from typing import Callable

import torch

from memory.checks import check_int

MappingFn = Callable[[int, int], torch.Tensor]
MAPPINGS: dict[str, MappingFn] = {}


def register_mapping(name: str):
    """Decorator: make `fn(n_mazes, n_agents) -> store_of (B, N) int64` available as a mode."""
    def deco(fn: MappingFn) -> MappingFn:
        MAPPINGS[name] = fn
        return fn
    return deco


@register_mapping("none")
def none_map(n_mazes: int, n_agents: int) -> torch.Tensor:
    return torch.full((n_mazes, n_agents), -1, dtype=torch.int64)


@register_mapping("solo")
def solo_map(n_mazes: int, n_agents: int) -> torch.Tensor:
    return torch.arange(n_mazes * n_agents, dtype=torch.int64).view(n_mazes, n_agents)


@register_mapping("shared")
def shared_map(n_mazes: int, n_agents: int) -> torch.Tensor:
    return torch.arange(n_mazes, dtype=torch.int64).view(n_mazes, 1).expand(n_mazes, n_agents).clone()


def team_map(n_mazes: int, n_agents: int, team_size: int) -> torch.Tensor:
    """Agents i // team_size of a maze share a store (an example of a further mapping)."""
    check_int("team_size", team_size, 1)
    teams = -(-n_agents // team_size)
    team = torch.arange(n_agents, dtype=torch.int64) // team_size
    return torch.arange(n_mazes, dtype=torch.int64).view(-1, 1) * teams + team.view(1, -1)


def validate_map(store_of: torch.Tensor, n_mazes: int, n_agents: int) -> int:
    """Check a map's shape and ids; return the number of stores S (ids must be 0..S-1)."""
    if tuple(store_of.shape) != (n_mazes, n_agents) or store_of.dtype != torch.int64:
        raise ValueError(f"store map has shape {tuple(store_of.shape)} {store_of.dtype}; "
                         f"expected ({n_mazes}, {n_agents}) int64")
    used = store_of[store_of >= 0]
    if (store_of < -1).any():
        raise ValueError("store map ids must be >= -1 (-1 = no memory)")
    S = int(used.max()) + 1 if used.numel() else 0
    if used.numel() and torch.unique(used).numel() != S:
        raise ValueError(f"store map ids must cover 0..{S - 1} without gaps")
    return S
