"""Slow, obviously-correct references the env is tested against."""
import numpy as np


def relaxation_distances(walls: np.ndarray, goal) -> np.ndarray:
    """Shortest path lengths by repeated relaxation over the whole grid (not BFS)."""
    H, W = walls.shape
    inf = 10**9
    dist = np.full((H, W), inf, dtype=np.int64)
    dist[tuple(goal)] = 0
    while True:
        padded = np.pad(dist, 1, constant_values=inf)
        best = np.minimum.reduce([padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]) + 1
        new = np.where(walls, inf, np.minimum(dist, best))
        if np.array_equal(new, dist):
            break
        dist = new
    return np.where(dist >= inf, -1, dist)


def visible(walls: np.ndarray, origin, target, samples: int = 2001) -> bool:
    """True unless the centre-to-centre segment passes through a wall square's interior.

    Walks the segment in many small steps; squares beyond the grid count as walls."""
    H, W = walls.shape
    (oy, ox), (ty, tx) = origin, target
    margin = 1e-6
    for t in np.linspace(0.0, 1.0, samples)[1:-1]:
        y, x = oy + t * (ty - oy), ox + t * (tx - ox)
        cy, cx = int(np.floor(y + 0.5)), int(np.floor(x + 0.5))
        if (cy, cx) in ((oy, ox), (ty, tx)):
            continue
        if abs(y - cy) > 0.5 - margin or abs(x - cx) > 0.5 - margin:
            continue  # on an edge or a corner: touching does not hide
        if not (0 <= cy < H and 0 <= cx < W) or walls[cy, cx]:
            return False
    return True


def window(layout, positions, alive, me: int, view: int, see_through_walls: bool,
           last_action: int = 0, observe_position=False, observe_last_action=False) -> np.ndarray:
    """The agent's (C, V, V) window built square by square."""
    H, W = layout.walls.shape
    r = view // 2
    y0, x0 = positions[me]
    channels = 6 + 2 * observe_position + observe_last_action
    out = np.zeros((channels, view, view), dtype=np.uint8)
    for i in range(view):
        for j in range(view):
            y, x = y0 - r + i, x0 - r + j
            if not see_through_walls and not visible(layout.walls, (y0, x0), (y, x)):
                out[5, i, j] = 1
            elif not (0 <= y < H and 0 <= x < W):
                out[4, i, j] = 1
            else:
                out[0, i, j] = layout.walls[y, x]
                out[1, i, j] = (y, x) == tuple(layout.goal)
                out[2, i, j] = sum(1 for k in range(len(positions))
                                   if k != me and alive[k] and tuple(positions[k]) == (y, x))
                out[3, i, j] = layout.landmarks[y, x]
            if observe_position:
                out[6, i, j], out[7, i, j] = y0, x0
            if observe_last_action:
                out[6 + 2 * observe_position, i, j] = last_action
    return out
