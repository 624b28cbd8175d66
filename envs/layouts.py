"""Maze layouts: wall grids made from a seed by a named generator.

Vocabulary used across envs/:

- A *cell* is a node of the maze graph. A layout of `rows x cols` cells is a
  `(2*rows + 1, 2*cols + 1)` boolean *grid* (True = wall): cell (i, j) sits at grid
  position (2i+1, 2j+1); the grid squares between two cells are passages or walls;
  squares at even-even positions are pillars. Every generator returns the same
  grid shape for the same cell size, and the outer border is always wall.
- Positions are grid coordinates `(row, col)`, row 0 at the top (north).
- `braid` in [0, 1]: after generation, that fraction of the dead ends (cells with
  a single opening) is *opened into loops* by knocking out one more wall, preferring
  a wall towards another dead end. braid=1 leaves no dead ends. (Some libraries
  instead fill dead ends with wall; we never remove floor.)
- Landmarks: `n_landmarks` distinct ids 1..n painted on distinct floor squares (not
  the goal), so that places become recognisable in a small window.

Generators (`GENERATORS`): `dfs` (recursive backtracker: long corridors, few
branches), `prim` (randomised Prim: many short dead ends), `kruskal` (randomised
Kruskal: unbiased-looking), `wilson` (uniform spanning tree), `rooms` (rooms of
`room_size` x `room_size` cells joined by single doors along a random spanning
tree), `open` (an empty arena inside the border). The first four are perfect mazes
(a tree: exactly one path between two cells) before braiding.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from envs.checks import check_seed

MAX_LANDMARKS = 31  # landmark ids are packed in 5 bits of a cell code (see rules.py)


@dataclass(frozen=True)
class Layout:
    """One maze: walls, landmarks, goal, spawn squares and BFS distances to the goal.

    walls     (H, W) bool    True = wall
    landmarks (H, W) uint8   0 = none, 1..n_landmarks
    goal      (2,)   int64   (row, col)
    spawns    (N, 2) int64   distinct floor squares, none on the goal
    distance  (H, W) int32   BFS steps to the goal; -1 on walls and unreachable squares
    """

    walls: np.ndarray
    landmarks: np.ndarray
    goal: np.ndarray
    spawns: np.ndarray
    distance: np.ndarray


# --------------------------------------------------------------------------- generators

def _cell_edges(rows: int, cols: int) -> list[tuple[int, int]]:
    """All edges between 4-adjacent cells, as pairs of flat cell indices."""
    edges = []
    for i in range(rows):
        for j in range(cols):
            c = i * cols + j
            if j + 1 < cols:
                edges.append((c, c + 1))
            if i + 1 < rows:
                edges.append((c, c + cols))
    return edges


def _carve(rows: int, cols: int, edges) -> np.ndarray:
    """Grid with every cell open and the passages of `edges` knocked out."""
    grid = np.ones((2 * rows + 1, 2 * cols + 1), dtype=bool)
    grid[1::2, 1::2] = False
    for a, b in edges:
        (ai, aj), (bi, bj) = divmod(a, cols), divmod(b, cols)
        grid[ai + bi + 1, aj + bj + 1] = False
    return grid


def _neighbours(c: int, rows: int, cols: int) -> list[int]:
    i, j = divmod(c, cols)
    out = []
    if i > 0:
        out.append(c - cols)
    if i + 1 < rows:
        out.append(c + cols)
    if j > 0:
        out.append(c - 1)
    if j + 1 < cols:
        out.append(c + 1)
    return out


def _dfs(rows: int, cols: int, rng: np.random.Generator, **_) -> np.ndarray:
    visited = [False] * (rows * cols)
    start = int(rng.integers(rows * cols))
    visited[start] = True
    stack, edges = [start], []
    while stack:
        c = stack[-1]
        options = [n for n in _neighbours(c, rows, cols) if not visited[n]]
        if not options:
            stack.pop()
            continue
        n = options[int(rng.integers(len(options)))]
        visited[n] = True
        edges.append((c, n))
        stack.append(n)
    return _carve(rows, cols, edges)


def _prim(rows: int, cols: int, rng: np.random.Generator, **_) -> np.ndarray:
    in_maze = np.zeros(rows * cols, dtype=bool)
    start = int(rng.integers(rows * cols))
    in_maze[start] = True
    frontier = [(start, n) for n in _neighbours(start, rows, cols)]
    edges = []
    while frontier:
        a, b = frontier.pop(int(rng.integers(len(frontier))))
        if in_maze[b]:
            continue
        in_maze[b] = True
        edges.append((a, b))
        frontier.extend((b, n) for n in _neighbours(b, rows, cols) if not in_maze[n])
    return _carve(rows, cols, edges)


class _DisjointSets:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


def _kruskal(rows: int, cols: int, rng: np.random.Generator, **_) -> np.ndarray:
    edges = _cell_edges(rows, cols)
    sets = _DisjointSets(rows * cols)
    chosen = [edges[k] for k in rng.permutation(len(edges)) if sets.union(*edges[k])]
    return _carve(rows, cols, chosen)


def _wilson(rows: int, cols: int, rng: np.random.Generator, **_) -> np.ndarray:
    n = rows * cols
    in_tree = np.zeros(n, dtype=bool)
    in_tree[int(rng.integers(n))] = True
    edges = []
    for start in rng.permutation(n):
        if in_tree[start]:
            continue
        # Loop-erased random walk: remembering only the last exit of each cell erases loops.
        nxt = {}
        c = int(start)
        while not in_tree[c]:
            options = _neighbours(c, rows, cols)
            nxt[c] = options[int(rng.integers(len(options)))]
            c = nxt[c]
        c = int(start)
        while not in_tree[c]:
            in_tree[c] = True
            edges.append((c, nxt[c]))
            c = nxt[c]
    return _carve(rows, cols, edges)


def _rooms(rows: int, cols: int, rng: np.random.Generator, room_size: int = 2, **_) -> np.ndarray:
    grid = np.ones((2 * rows + 1, 2 * cols + 1), dtype=bool)
    room_rows, room_cols = -(-rows // room_size), -(-cols // room_size)

    def span(k: int, n: int) -> tuple[int, int]:  # cell range of room k along one axis
        return k * room_size, min((k + 1) * room_size, n) - 1

    for ri in range(room_rows):
        for rj in range(room_cols):
            (i0, i1), (j0, j1) = span(ri, rows), span(rj, cols)
            grid[2 * i0 + 1: 2 * i1 + 2, 2 * j0 + 1: 2 * j1 + 2] = False
    # Rooms form a coarse grid; a random spanning tree of it decides which rooms get a door.
    coarse = _cell_edges(room_rows, room_cols)
    sets = _DisjointSets(room_rows * room_cols)
    for k in rng.permutation(len(coarse)):
        a, b = coarse[k]
        if not sets.union(a, b):
            continue
        (ai, aj), (bi, bj) = divmod(a, room_cols), divmod(b, room_cols)
        if ai == bi:  # east-west neighbours: a door in the wall column between them
            col = 2 * span(bj, cols)[0]
            i0, i1 = span(ai, rows)
            grid[2 * int(rng.integers(i0, i1 + 1)) + 1, col] = False
        else:         # north-south neighbours
            row = 2 * span(bi, rows)[0]
            j0, j1 = span(aj, cols)
            grid[row, 2 * int(rng.integers(j0, j1 + 1)) + 1] = False
    return grid


def _open(rows: int, cols: int, rng: np.random.Generator, **_) -> np.ndarray:
    grid = np.ones((2 * rows + 1, 2 * cols + 1), dtype=bool)
    grid[1:-1, 1:-1] = False
    return grid


Generator = Callable[..., np.ndarray]
GENERATORS: dict[str, Generator] = {
    "dfs": _dfs,
    "prim": _prim,
    "kruskal": _kruskal,
    "wilson": _wilson,
    "rooms": _rooms,
    "open": _open,
}
PERFECT_GENERATORS = ("dfs", "prim", "kruskal", "wilson")


def register_generator(name: str, fn: Generator) -> None:
    """Add a generator `fn(rows, cols, rng, **options) -> (2r+1, 2c+1) bool grid`."""
    if name in GENERATORS:
        raise ValueError(f"generator {name!r} is already registered")
    GENERATORS[name] = fn


# --------------------------------------------------------------------------- helpers

MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # N, E, S, W


def bfs_distances(walls: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """Steps from `source` to every square over 4-connected floor; -1 where unreachable."""
    # Plain Python lists over a wall-padded flat grid: no bounds checks, and an order of
    # magnitude faster than indexing numpy scalars (layouts are made on every reset).
    H, W = walls.shape
    Wp = W + 2
    padded = np.ones((H + 2, Wp), dtype=bool)
    padded[1:-1, 1:-1] = walls
    blocked = padded.ravel().tolist()
    dist = [-1] * len(blocked)
    start = (source[0] + 1) * Wp + source[1] + 1
    dist[start] = 0
    queue = deque([start])
    while queue:
        i = queue.popleft()
        d = dist[i] + 1
        for j in (i - Wp, i + 1, i + Wp, i - 1):
            if not blocked[j] and dist[j] < 0:
                dist[j] = d
                queue.append(j)
    return np.array(dist, dtype=np.int32).reshape(H + 2, Wp)[1:-1, 1:-1].copy()


def dead_end_cells(grid: np.ndarray) -> list[tuple[int, int]]:
    """Cells (odd, odd squares) with exactly one open side."""
    cells = []
    for r in range(1, grid.shape[0], 2):
        for c in range(1, grid.shape[1], 2):
            if not grid[r, c] and sum(not grid[r + dr, c + dc] for dr, dc in MOVES) == 1:
                cells.append((r, c))
    return cells


def braid(grid: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Open `round(fraction * dead ends)` dead ends into loops (see the module doc)."""
    grid = grid.copy()
    ends = dead_end_cells(grid)
    n_target = round(fraction * len(ends))
    H, W = grid.shape
    opened = 0
    for k in rng.permutation(len(ends)):
        if opened >= n_target:
            break
        r, c = ends[k]
        if sum(not grid[r + dr, c + dc] for dr, dc in MOVES) != 1:
            opened += 1  # an earlier opening already fixed this one
            continue
        closed = [(dr, dc) for dr, dc in MOVES
                  if grid[r + dr, c + dc] and 0 < r + 2 * dr < H and 0 < c + 2 * dc < W]
        if not closed:
            continue
        # Prefer joining two dead ends: one knock-out then removes both.
        towards_end = [(dr, dc) for dr, dc in closed
                       if sum(not grid[r + 2 * dr + er, c + 2 * dc + ec] for er, ec in MOVES) == 1]
        options = towards_end or closed
        dr, dc = options[int(rng.integers(len(options)))]
        grid[r + dr, c + dc] = False
        opened += 1
    return grid


# --------------------------------------------------------------------------- the whole layout

def check_layout_options(generator: str, rows: int, cols: int, braid_fraction: float,
                         n_landmarks: int, room_size: int = 2) -> None:
    """Raise ValueError naming the bad value and what is allowed."""
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; allowed: {sorted(GENERATORS)}")
    min_cells = 2
    if rows < min_cells or cols < min_cells:
        raise ValueError(f"maze of {rows}x{cols} cells is too small for generator {generator!r}: "
                         f"need at least {min_cells}x{min_cells} cells")
    if not 0.0 <= braid_fraction <= 1.0:
        raise ValueError(f"braid={braid_fraction} is outside [0, 1]")
    if not 0 <= n_landmarks <= MAX_LANDMARKS:
        raise ValueError(f"n_landmarks={n_landmarks} is outside [0, {MAX_LANDMARKS}]")
    if room_size < 1:
        raise ValueError(f"room_size={room_size} must be >= 1")


def make_layout(generator: str, rows: int, cols: int, n_agents: int, seed,
                braid_fraction: float = 0.0, n_landmarks: int = 0, room_size: int = 2,
                goal: tuple[int, int] | None = None, spawn: str = "near_start") -> Layout:
    """Generate one layout from `seed` (an int or a `np.random.SeedSequence`).

    goal: None places it far from the start: a random floor square is the start
        and the goal is the square farthest from it by BFS. Otherwise a floor square.
    spawn: "near_start" puts the agents on the floor squares nearest the start
        (so they set off together, far from the goal); "random" on distinct
        uniformly random floor squares. Never on the goal.
    """
    check_layout_options(generator, rows, cols, braid_fraction, n_landmarks, room_size)
    if spawn not in ("near_start", "random"):
        raise ValueError(f"unknown spawn {spawn!r}; allowed: ['near_start', 'random']")
    if not isinstance(seed, np.random.SeedSequence):
        seed = check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    walls = GENERATORS[generator](rows, cols, rng, room_size=room_size)
    if braid_fraction > 0:
        walls = braid(walls, braid_fraction, rng)
    floor = np.argwhere(~walls)
    if n_agents + 1 > len(floor):
        raise ValueError(f"n_agents={n_agents} does not fit: a {rows}x{cols}-cell maze has "
                         f"{len(floor)} floor squares, one of them the goal")
    start = tuple(floor[int(rng.integers(len(floor)))])
    from_start = bfs_distances(walls, start)
    if goal is None:
        far = np.argwhere(from_start == from_start.max())
        goal_rc = tuple(far[int(rng.integers(len(far)))])
    else:
        goal_rc = tuple(int(g) for g in goal)
        H, W = walls.shape
        if not (0 <= goal_rc[0] < H and 0 <= goal_rc[1] < W) or walls[goal_rc]:
            raise ValueError(f"goal={goal} is not a floor square of the {H}x{W} grid")
    distance = bfs_distances(walls, goal_rc)
    candidates = floor[(floor[:, 0] != goal_rc[0]) | (floor[:, 1] != goal_rc[1])]
    if spawn == "near_start":
        d = from_start[candidates[:, 0], candidates[:, 1]]
        # Unreachable squares (-1) go last; ties broken at random.
        key = np.where(d < 0, np.iinfo(np.int32).max, d)
        order = np.lexsort((rng.random(len(candidates)), key))
        spawns = candidates[order[:n_agents]]
    else:
        spawns = candidates[rng.choice(len(candidates), size=n_agents, replace=False)]
    landmarks = np.zeros(walls.shape, dtype=np.uint8)
    if n_landmarks:
        if n_landmarks > len(candidates):
            raise ValueError(f"n_landmarks={n_landmarks} exceeds the {len(candidates)} free squares")
        spots = candidates[rng.choice(len(candidates), size=n_landmarks, replace=False)]
        landmarks[spots[:, 0], spots[:, 1]] = np.arange(1, n_landmarks + 1, dtype=np.uint8)
    return Layout(walls=walls, landmarks=landmarks, goal=np.array(goal_rc, dtype=np.int64),
                  spawns=spawns.astype(np.int64), distance=distance)
