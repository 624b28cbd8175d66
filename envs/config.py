"""`MazeConfig`: every knob of the maze world, validated once at construction.

The PettingZoo env, the Gymnasium env and the batched torch env all take the same
config (or its fields as keyword arguments), so they cannot disagree on a default.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import numpy as np

from envs.checks import check_seed
from envs.layouts import GENERATORS, MAX_LANDMARKS, check_layout_options

MAX_AGENTS = 255  # agent counts are observed as uint8


@dataclass(frozen=True)
class MazeConfig:
    """The maze world. Sizes are in maze cells: `rows x cols` cells make a
    `(2*rows+1) x (2*cols+1)` grid of squares (see envs.layouts).

    n_agents: agents in each maze (`agent_0 .. agent_{n-1}`).
    rows, cols: maze size in cells (>= 2 each).
    generator: layout generator: dfs, prim, kruskal, wilson, rooms, open.
    braid: fraction in [0, 1] of dead ends opened into loops (1 = no dead ends).
    n_landmarks: distinct landmark ids painted on floor squares (0..31).
    room_size: room side in cells, for the `rooms` generator.
    goal: fixed goal square (row, col) in grid coordinates, or None to place it at
        the square farthest (by BFS) from a random start square.
    spawn: "near_start" (agents start on the squares nearest the start, together)
        or "random" (distinct random floor squares).
    view_size: side V of the egocentric window (odd, >= 3).
    see_through_walls: False hides squares whose line of sight from the agent
        crosses a wall (they read as `unseen`); True shows the full window.
    agents_block: True forbids two agents on one square (contested moves, swaps and
        moves into a blocked agent are cancelled); the goal square never blocks.
    observe_position: add two constant planes with the agent's own (row, col).
    observe_last_action: add a constant plane with the agent's last action + 1
        (0 at the start of an episode).
    max_steps: steps before truncation; None means 8 * rows * cols.
    reward_decay: True pays 1 - 0.9 * t / max_steps at the goal (MiniGrid's
        schedule); False pays 1.
    step_penalty: subtracted from every acting agent's reward each step (>= 0).
    explore_bonus: paid to an agent each time it steps onto a square it has not stood on
        in this episode (its spawn square counts as stood on; >= 0). An episodic novelty
        reward: on mazes too big to reach the goal by chance it pays an untrained policy for
        covering ground. Success and path length are measured without it.
    episodes_per_layout: episodes played on one layout before a new one is drawn
        (the replay that lets memory help); None keeps the first layout forever.
    layout_seed: seed of the layout stream; None derives it from the reset seed.
    """

    n_agents: int = 4
    rows: int = 4
    cols: int = 4
    generator: str = "dfs"
    braid: float = 0.0
    n_landmarks: int = 0
    room_size: int = 2
    goal: tuple[int, int] | None = None
    spawn: str = "near_start"
    view_size: int = 5
    see_through_walls: bool = False
    agents_block: bool = False
    observe_position: bool = False
    observe_last_action: bool = False
    max_steps: int | None = None
    reward_decay: bool = True
    step_penalty: float = 0.0
    explore_bonus: float = 0.0
    episodes_per_layout: int | None = 1
    layout_seed: int | None = None

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            expected = type_problem(value, _FIELD_TYPES[f.name])
            if expected is not None:
                raise TypeError(f"{f.name}={value!r} must be {expected}")
        if self.goal is not None:
            goal = tuple(int(g) for g in self.goal)
            height, width = self.grid_shape
            if not (0 <= goal[0] < height and 0 <= goal[1] < width):
                raise ValueError(f"goal={list(goal)} is outside the {height}x{width} grid: "
                                 f"row in [0, {height - 1}], col in [0, {width - 1}]")
            object.__setattr__(self, "goal", goal)
        check_layout_options(self.generator, self.rows, self.cols, self.braid,
                             self.n_landmarks, self.room_size)
        if not 1 <= self.n_agents <= MAX_AGENTS:
            raise ValueError(f"n_agents={self.n_agents} is outside [1, {MAX_AGENTS}]")
        if self.view_size < 3 or self.view_size % 2 == 0:
            raise ValueError(f"view_size={self.view_size} must be odd and >= 3")
        if self.spawn not in ("near_start", "random"):
            raise ValueError(f"unknown spawn {self.spawn!r}; allowed: ['near_start', 'random']")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps} must be >= 1 (or None for the default)")
        if self.step_penalty < 0:
            raise ValueError(f"step_penalty={self.step_penalty} must be >= 0")
        if self.explore_bonus < 0:
            raise ValueError(f"explore_bonus={self.explore_bonus} must be >= 0")
        check_seed("layout_seed", self.layout_seed, none_means="following the reset seed")
        if self.episodes_per_layout is not None and self.episodes_per_layout < 1:
            raise ValueError(f"episodes_per_layout={self.episodes_per_layout} must be >= 1 "
                             "(or None to keep one layout forever)")
        # A rough upper bound of the floor squares (a perfect maze has 2*r*c - 1).
        if self.generator != "open" and self.n_agents + 1 > 2 * self.rows * self.cols - 1:
            raise ValueError(f"n_agents={self.n_agents} does not fit a {self.rows}x{self.cols}-cell "
                             f"maze: at most {2 * self.rows * self.cols - 2} agents")

    @property
    def grid_shape(self) -> tuple[int, int]:
        return 2 * self.rows + 1, 2 * self.cols + 1

    @property
    def horizon(self) -> int:
        return self.max_steps if self.max_steps is not None else 8 * self.rows * self.cols

    @property
    def n_channels(self) -> int:
        return 6 + 2 * self.observe_position + self.observe_last_action

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return self.n_channels, self.view_size, self.view_size

    def replace(self, **changes) -> "MazeConfig":
        return MazeConfig(**{**asdict(self), **changes})

    @classmethod
    def from_kwargs(cls, config: "MazeConfig | None" = None, **kwargs) -> "MazeConfig":
        """Build from an optional base config plus keyword overrides; unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown maze option(s) {unknown}; allowed: {sorted(known)}")
        base = config if config is not None else cls()
        return base.replace(**kwargs) if kwargs else base


_FIELD_TYPES = get_type_hints(MazeConfig)


def type_problem(value: Any, kind: Any) -> str | None:
    """What `value` must be when it does not fit the annotation `kind`, else None.

    Strict on purpose: a bool is not an int, 2.5 is not an int and the string "no" is
    not a bool, because each of these is a typo that would otherwise run silently.
    """
    if get_origin(kind) in (UnionType, Union) and NoneType in get_args(kind):
        if value is None:
            return None
        inner = [k for k in get_args(kind) if k is not NoneType]
        problem = type_problem(value, inner[0])
        return None if problem is None else f"{problem} or null"
    if kind is bool:
        return None if isinstance(value, (bool, np.bool_)) else "a bool (true or false)"
    if kind is int:
        ok = isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))
        return None if ok else "an int"
    if kind is float:
        ok = isinstance(value, Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
        return None if ok else "a finite number"
    if kind is str:
        return None if isinstance(value, str) else "a string"
    if get_origin(kind) is tuple:
        items = get_args(kind)
        ok = (isinstance(value, (tuple, list)) and len(value) == len(items)
              and all(type_problem(v, k) is None for v, k in zip(value, items)))
        names = sorted({k.__name__ for k in items})
        return None if ok else f"a list of {len(items)} {names[0] + 's' if len(names) == 1 else names}"
    if get_origin(kind) is dict or kind is dict:
        return None if isinstance(value, Mapping) else "a mapping"
    return None  # Any, or a type this check does not know: left to the field's own checks


__all__ = ["MazeConfig", "GENERATORS", "MAX_LANDMARKS"]
