"""The rules of the maze, written once as batched torch functions.

Both `MazeEnv` (PettingZoo, one maze) and `BatchedMazeEnv` (B mazes on any device)
are thin shells around `World`, which applies these functions to tensors with a
leading maze dimension B and an agent dimension N. Nothing here loops over mazes
or agents in Python.

Static squares are packed into one byte per square (the *cell code*), stored on a
grid padded by V//2 squares of `outside` on every side, so a window is one gather:
bit 0 wall, bit 1 goal, bit 2 outside, bits 3-7 landmark id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# Actions: Discrete(5).
STAY, NORTH, EAST, SOUTH, WEST = range(5)
N_ACTIONS = 5
ACTION_NAMES = ("stay", "north", "east", "south", "west")
ACTION_DELTAS = torch.tensor([[0, 0], [-1, 0], [0, 1], [1, 0], [0, -1]], dtype=torch.int64)

# Observation channels, in order. The optional ones follow the base six.
WALL, GOAL, AGENTS, LANDMARK, OUTSIDE, UNSEEN = range(6)
BASE_CHANNELS = ("wall", "goal", "agents", "landmark", "outside", "unseen")

_WALL_BIT, _GOAL_BIT, _OUTSIDE_BIT, _LANDMARK_SHIFT = 1, 2, 4, 3


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
    """Constant tensors that turn positions into windows, built once per device."""

    offsets: torch.Tensor   # (V*V,) flat offsets of the window squares on the padded grid
    blockers: torch.Tensor  # (V*V, V*V) float: [j, t] = 1 if square j lies on the sight line to t

    @staticmethod
    def build(view_size: int, padded_width: int, device) -> "ObservationTables":
        V = view_size
        dy, dx = np.meshgrid(np.arange(V), np.arange(V), indexing="ij")
        between, valid = sight_lines(V)
        blockers = np.zeros((V * V, V * V), dtype=np.float32)
        for t in range(V * V):
            blockers[between[t][valid[t]], t] = 1.0
        return ObservationTables(
            offsets=torch.as_tensor((dy * padded_width + dx).reshape(-1), device=device),
            blockers=torch.as_tensor(blockers, device=device),
        )


def move(pos: torch.Tensor, actions: torch.Tensor, alive: torch.Tensor, code: torch.Tensor,
         goal: torch.Tensor, pad: int, agents_block: bool) -> torch.Tensor:
    """Next positions (B, N, 2) after `actions` (B, N).

    A move into a wall leaves the agent in place; so does any action of a dead agent.
    With `agents_block`, a move is cancelled when another live agent ends on the same
    square (both cancelled), when two agents would swap squares, or, transitively,
    when the target is held by an agent whose own move was cancelled. The goal
    square never blocks: agents leave the maze there.
    """
    B, N = actions.shape
    deltas = ACTION_DELTAS.to(pos.device)[actions] * alive.unsqueeze(-1)
    target = pos + deltas
    flat = _padded_flat(target, code, pad)
    hits_wall = (code.view(B, -1).gather(1, flat) & (_WALL_BIT | _OUTSIDE_BIT)) > 0
    target = torch.where(hits_wall.unsqueeze(-1), pos, target)
    if not agents_block or N == 1:
        return target
    others = ~torch.eye(N, dtype=torch.bool, device=pos.device)
    live_pair = alive.unsqueeze(2) & alive.unsqueeze(1) & others           # (B, N, N)
    at_goal = (target == goal.unsqueeze(1)).all(-1)                          # (B, N)
    # Each round only cancels moves, so N rounds reach the fixed point.
    for _ in range(N):
        same = (target.unsqueeze(2) == target.unsqueeze(1)).all(-1) & live_pair
        swap = ((target.unsqueeze(2) == pos.unsqueeze(1)).all(-1)
                & (pos.unsqueeze(2) == target.unsqueeze(1)).all(-1) & live_pair)
        blocked = ((same | swap).any(-1) & ~at_goal & (target != pos).any(-1))
        if not bool(blocked.any()):
            break
        target = torch.where(blocked.unsqueeze(-1), pos, target)
        at_goal = at_goal & ~blocked
    return target


def _padded_flat(pos: torch.Tensor, code: torch.Tensor, pad: int) -> torch.Tensor:
    """Flat index (B, N) of grid positions on the padded code grid (B, Hp, Wp)."""
    Wp = code.shape[-1]
    return (pos[..., 0] + pad) * Wp + (pos[..., 1] + pad)


def observe(code: torch.Tensor, pos: torch.Tensor, alive: torch.Tensor, last_action: torch.Tensor,
            tables: ObservationTables, pad: int, see_through_walls: bool,
            observe_position: bool, observe_last_action: bool) -> torch.Tensor:
    """Egocentric windows (B, N, C, V, V) uint8, north-up, centred on each agent.

    code (B, Hp, Wp) uint8 cell codes; pos (B, N, 2) grid positions; alive (B, N)
    (only live agents are seen by others); last_action (B, N) in 0..5.
    Dead agents still get a window (from where they stopped), so callers can show a
    finished agent its last view.
    """
    B, N = alive.shape
    V = 2 * pad + 1
    S = V * V
    C = 6 + 2 * observe_position + observe_last_action
    code_flat = code.view(B, -1)
    # The window's top-left square on the padded grid is the agent's unpadded position.
    corner = pos[..., 0] * code.shape[-1] + pos[..., 1]                      # (B, N)
    idx = (corner.unsqueeze(-1) + tables.offsets).view(B, N * S)             # (B, N*S)
    cells = code_flat.gather(1, idx).view(B, N, S)                           # uint8 codes
    # Other live agents: occupancy counts, minus oneself at the centre.
    occupancy = torch.zeros(code_flat.shape, dtype=torch.uint8, device=code.device)
    occupancy.scatter_add_(1, _padded_flat(pos, code, pad), alive.to(torch.uint8))
    agents = occupancy.gather(1, idx).view(B, N, S)
    agents[:, :, S // 2] -= alive.to(torch.uint8)
    out = torch.empty(B, N, C, S, dtype=torch.uint8, device=code.device)
    if see_through_walls:
        out[:, :, UNSEEN] = 0
    else:
        # A square is hidden when any square on its sight line is opaque: one small matmul.
        opaque = ((cells & (_WALL_BIT | _OUTSIDE_BIT)) > 0).to(tables.blockers.dtype)
        hidden = (opaque.view(B * N, S) @ tables.blockers).view(B, N, S) > 0
        visible = (~hidden).to(torch.uint8)
        cells = cells * visible
        agents = agents * visible
        out[:, :, UNSEEN] = hidden
    out[:, :, WALL] = cells & _WALL_BIT
    out[:, :, GOAL] = (cells >> 1) & 1
    out[:, :, AGENTS] = agents
    out[:, :, LANDMARK] = cells >> _LANDMARK_SHIFT
    out[:, :, OUTSIDE] = (cells >> 2) & 1
    extra = 6
    if observe_position:
        out[:, :, extra] = pos[..., 0:1].to(torch.uint8)
        out[:, :, extra + 1] = pos[..., 1:2].to(torch.uint8)
        extra += 2
    if observe_last_action:
        out[:, :, extra] = last_action.unsqueeze(-1).to(torch.uint8)
    return out.view(B, N, C, V, V)


def goal_reward(reached: torch.Tensor, t: torch.Tensor, horizon: int, decay: bool) -> torch.Tensor:
    """Reward (B, N) for agents reaching the goal at step t (1-based) of `horizon`."""
    if decay:
        value = 1.0 - 0.9 * t.to(torch.float32) / horizon
        return reached.to(torch.float32) * value.unsqueeze(-1)
    return reached.to(torch.float32)
