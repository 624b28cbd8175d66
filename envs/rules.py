"""The rules of the maze, written once as batched array functions.

Both `MazeEnv` (PettingZoo, one maze) and `BatchedMazeEnv` (B mazes on any device)
are thin shells around `World`, which applies these functions to arrays with a
leading maze dimension B and an agent dimension N. Nothing here loops over mazes
or agents in Python. Every function runs on torch tensors or numpy arrays alike
(see envs.arrays): the batched env uses torch, the one-maze envs numpy.

Static squares are packed into one byte per square (the *cell code*), stored on a
grid padded by V//2 squares of `outside` on every side, so a window is one gather:
bit 0 wall, bit 1 goal, bit 2 outside, bits 3-7 landmark id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from envs import arrays
from envs.arrays import Array

# Actions: Discrete(5).
STAY, NORTH, EAST, SOUTH, WEST = range(5)
N_ACTIONS = 5
ACTION_NAMES = ("stay", "north", "east", "south", "west")
_DELTAS = np.array([[0, 0], [-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)
ACTION_DELTAS = torch.from_numpy(_DELTAS)

# Observation channels, in order. The optional ones follow the base six.
WALL, GOAL, AGENTS, LANDMARK, OUTSIDE, UNSEEN = range(6)
BASE_CHANNELS = ("wall", "goal", "agents", "landmark", "outside", "unseen")

_WALL_BIT, _GOAL_BIT, _OUTSIDE_BIT, _LANDMARK_SHIFT = 1, 2, 4, 3
# Every channel as (code >> shift) & mask, decoded in one broadcast: WALL..OUTSIDE are
# final; UNSEEN first holds the opaque bits (nonzero: the square blocks sight); AGENTS
# and the optional channels decode to 0 and are filled in later.
_PLANE_SHIFT = np.array([0, 1, 0, _LANDMARK_SHIFT, 2, 0, 0, 0, 0], dtype=np.uint8).reshape(-1, 1)
_PLANE_MASK = np.array([_WALL_BIT, 1, 0, 255 >> _LANDMARK_SHIFT, 1, _WALL_BIT | _OUTSIDE_BIT, 0, 0, 0],
                       dtype=np.uint8).reshape(-1, 1)


def channel_names(observe_position: bool, observe_last_action: bool) -> tuple[str, ...]:
    return (BASE_CHANNELS + (("row", "col") if observe_position else ())
            + (("last_action",) if observe_last_action else ()))


def pack_cells(walls: np.ndarray, landmarks: np.ndarray, goal, pad: int) -> np.ndarray:
    """Cell codes (H + 2*pad, W + 2*pad) uint8 for one layout."""
    code = np.full((walls.shape[0] + 2 * pad, walls.shape[1] + 2 * pad), _OUTSIDE_BIT, np.uint8)
    inner = (walls.astype(np.uint8) * _WALL_BIT) | (landmarks.astype(np.uint8) << _LANDMARK_SHIFT)
    inner[goal[0], goal[1]] |= _GOAL_BIT
    code[pad:pad + walls.shape[0], pad:pad + walls.shape[1]] = inner
    return code


def sight_lines(view_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Which window squares lie between the centre and each window square.

    Returns `between (V*V, K)` int64 flat window indices and `valid (V*V, K)` bool.
    A square is *between* when the straight segment joining the centres of the
    agent's square and the target square passes through its interior (touching a
    corner or an edge does not count). The target and the centre are excluded.
    """
    V, r = view_size, view_size // 2
    eps = 1e-9
    lines = []
    for ty in range(V):
        for tx in range(V):
            dy, dx = ty - r, tx - r
            hits = []
            for cy in range(min(0, dy), max(0, dy) + 1):
                for cx in range(min(0, dx), max(0, dx) + 1):
                    if (cy, cx) in ((0, 0), (dy, dx)):
                        continue
                    # Slab test of the segment t*(dy, dx), t in [0, 1], against the open square.
                    lo, hi = 0.0, 1.0
                    for d, c in ((dy, cy), (dx, cx)):
                        a, b = c - 0.5 + eps, c + 0.5 - eps
                        if d == 0:
                            if not a < 0 < b:
                                lo, hi = 1.0, 0.0
                        else:
                            t0, t1 = sorted((a / d, b / d))
                            lo, hi = max(lo, t0), min(hi, t1)
                    if lo < hi:
                        hits.append((cy + r) * V + (cx + r))
            lines.append(hits)
    K = max(1, max(len(h) for h in lines))
    between = np.zeros((V * V, K), dtype=np.int64)
    valid = np.zeros((V * V, K), dtype=bool)
    for i, hits in enumerate(lines):
        between[i, :len(hits)] = hits
        valid[i, :len(hits)] = True
    return between, valid


@dataclass
class ObservationTables:
    """Constant arrays that turn positions into windows, built once per backend and device."""

    offsets: Array      # (V*V,) flat offsets of the window squares on the padded grid
    blockers: Array     # (V*V, V*V) float: [j, t] = 1 if square j lies on the sight line to t
    plane_shift: Array  # (9, 1) uint8: channel c decodes as (code >> shift[c]) & mask[c]
    plane_mask: Array   # (9, 1) uint8

    @staticmethod
    def build(view_size: int, padded_width: int, device="cpu",
              backend: str = "torch") -> "ObservationTables":
        V = view_size
        dy, dx = np.meshgrid(np.arange(V), np.arange(V), indexing="ij")
        between, valid = sight_lines(V)
        blockers = np.zeros((V * V, V * V), dtype=np.float32)
        for t in range(V * V):
            blockers[between[t][valid[t]], t] = 1.0
        return ObservationTables(
            offsets=arrays.from_numpy((dy * padded_width + dx).reshape(-1), backend, device),
            blockers=arrays.from_numpy(blockers, backend, device),
            plane_shift=arrays.from_numpy(_PLANE_SHIFT, backend, device),
            plane_mask=arrays.from_numpy(_PLANE_MASK, backend, device),
        )


def move(pos: Array, actions: Array, alive: Array, code: Array, goal: Array, pad: int,
         agents_block: bool) -> Array:
    """Next positions (B, N, 2) after `actions` (B, N).

    A move into a wall leaves the agent in place; so does any action of a dead agent.
    With `agents_block`, a move is cancelled when another live agent ends on the same
    square (both cancelled), when two agents would swap squares, or, transitively,
    when the target is held by an agent whose own move was cancelled. The goal
    square never blocks: agents leave the maze there.
    """
    xp = arrays.module(pos)
    B, N = actions.shape
    # Dead agents stay (action 0) whatever they were given.
    target = pos + arrays.constant(_DELTAS, like=pos)[actions * alive]
    square = arrays.at(code, target[..., 0] + pad, target[..., 1] + pad)
    hits_wall = (square & (_WALL_BIT | _OUTSIDE_BIT)) > 0
    target = xp.where(hits_wall[..., None], pos, target)
    if not agents_block or N == 1:
        return target
    others = ~xp.eye(N, dtype=xp.bool, device=pos.device)
    live_pair = alive[:, :, None] & alive[:, None, :] & others               # (B, N, N)
    at_goal = (target == goal[:, None]).all(-1)                              # (B, N)
    # Each round only cancels moves, so N rounds reach the fixed point.
    for _ in range(N):
        same = (target[:, :, None] == target[:, None]).all(-1) & live_pair
        swap = ((target[:, :, None] == pos[:, None]).all(-1)
                & (pos[:, :, None] == target[:, None]).all(-1) & live_pair)
        blocked = ((same | swap).any(-1) & ~at_goal & (target != pos).any(-1))
        if not bool(blocked.any()):
            break
        target = xp.where(blocked[..., None], pos, target)
        at_goal = at_goal & ~blocked
    return target


def window_squares(pos: Array, code: Array, tables: ObservationTables) -> Array:
    """Flat indices (B, K*V*V) on the padded grid of the windows centred on `pos` (B, K, 2).

    A window's top-left square on the padded grid is the agent's unpadded position."""
    corner = pos[..., 0] * code.shape[-1] + pos[..., 1]
    return (corner[..., None] + tables.offsets).reshape(corner.shape[0], -1)


def layout_planes(code: Array, squares: Array, tables: ObservationTables, see_through_walls: bool,
                  n_channels: int) -> Array:
    """What windows show of the layout alone, given their `window_squares` (B, K*V*V):
    channel-major (C, B, K, V*V) uint8 with WALL..OUTSIDE (hidden squares zeroed), UNSEEN,
    the visibility (0/1) in the AGENTS row for `observe` to multiply by the agent counts,
    and the optional channels 0. Channel-major, every operation is a few long runs, which
    torch's CPU kernels need to be fast."""
    xp = arrays.module(code)
    S = tables.offsets.shape[0]
    B, K, C = squares.shape[0], squares.shape[1] // S, n_channels
    cells = arrays.gather(code.reshape(B, -1), squares)
    planes = ((cells.reshape(1, -1) >> tables.plane_shift[:C]) & tables.plane_mask[:C]).reshape(C, B, K, S)
    if see_through_walls:
        planes[AGENTS] = 1
        planes[UNSEEN] = 0
    else:
        # A square is hidden when any square on its sight line is opaque: one small matmul.
        opaque = arrays.cast(planes[UNSEEN], tables.blockers.dtype).reshape(B * K, S)
        visible = (opaque @ tables.blockers).reshape(B, K, S) == 0
        planes[:UNSEEN] *= visible.view(xp.uint8)
        planes[AGENTS] = visible
        planes[UNSEEN] = ~visible
    return planes


def observe(code: Array, pos: Array, alive: Array, last_action: Array,
            tables: ObservationTables, pad: int, see_through_walls: bool,
            observe_position: bool, observe_last_action: bool, layout_view: Array | None = None) -> Array:
    """Egocentric windows (B, N, C, V, V) uint8, north-up, centred on each agent.

    code (B, Hp, Wp) uint8 cell codes; pos (B, N, 2) grid positions; alive (B, N)
    (only live agents are seen by others); last_action (B, N) in 0..5.
    layout_view: optional `layout_planes` of every grid square (C, B, H*W, V*V), kept by
    callers that observe one layout many times; None computes the planes afresh.
    Dead agents still get a window (from where they stopped), so callers can show a
    finished agent its last view.
    """
    xp = arrays.module(code)
    B, N = alive.shape
    V = 2 * pad + 1
    S = V * V
    C = 6 + 2 * observe_position + observe_last_action
    Hp, Wp = code.shape[1:]
    squares = window_squares(pos, code, tables)                              # (B, N*S)
    if layout_view is None:
        planes = layout_planes(code, squares, tables, see_through_walls, C)   # (C, B, N, S)
    else:  # a copy: the cache stays as it is
        planes = layout_view[:, arrays.batch_index(code), pos[..., 0] * (Wp - 2 * pad) + pos[..., 1]]
    # Other live agents: occupancy counts, minus oneself at the centre, where visible.
    alive_count = alive.view(xp.uint8)  # bool as 0/1 bytes, no copy
    occupancy = xp.zeros((B, Hp * Wp), dtype=xp.uint8, device=code.device)
    arrays.scatter_add_(occupancy, squares[:, S // 2::S], alive_count)       # each window's centre
    agents = arrays.gather(occupancy, squares).reshape(B, N, S)
    agents[:, :, S // 2] -= alive_count
    planes[AGENTS] *= agents
    extra = 6
    if observe_position:
        planes[extra] = arrays.cast(pos[..., 0:1], xp.uint8)
        planes[extra + 1] = arrays.cast(pos[..., 1:2], xp.uint8)
        extra += 2
    if observe_last_action:
        planes[extra] = arrays.cast(last_action[..., None], xp.uint8)
    return arrays.permute(planes, (1, 2, 0, 3)).reshape(B, N, C, V, V)


def goal_reward(reached: Array, t: Array, horizon: int, decay: bool) -> Array:
    """Reward (B, N) for agents reaching the goal at step t (1-based) of `horizon`."""
    xp = arrays.module(reached)
    if decay:
        value = 1.0 - 0.9 * arrays.cast(t, xp.float32) / horizon
        return reached * value[..., None]
    return arrays.cast(reached, xp.float32)
