"""Pictures of a maze: text (`ansi`) and RGB arrays. Rendering only reads state."""
from __future__ import annotations

import colorsys

import numpy as np

from envs.layouts import Layout

TILE = 8  # pixels per grid square in rgb_array mode

_FLOOR = np.array([235, 235, 235], np.uint8)
_WALL = np.array([40, 40, 48], np.uint8)
_GOAL = np.array([60, 190, 80], np.uint8)


def palette(n: int, saturation: float = 0.85, value: float = 0.95, offset: float = 0.0) -> np.ndarray:
    """`n` well-separated colours (n, 3) uint8."""
    hues = (offset + np.arange(n) / max(n, 1)) % 1.0
    return np.array([[round(255 * c) for c in colorsys.hsv_to_rgb(h, saturation, value)]
                     for h in hues], dtype=np.uint8).reshape(n, 3)


def render_ansi(layout: Layout, positions: np.ndarray, alive: np.ndarray) -> str:
    """One character per square: `#` wall, `.` floor, `G` goal, `a`-`z` landmarks
    (by id), `0`-`9` live agents (by index modulo 10; `*` when several share a square)."""
    chars = np.where(layout.walls, "#", ".").astype("<U1")
    ids = layout.landmarks
    for r, c in np.argwhere(ids > 0):
        chars[r, c] = chr(ord("a") + (int(ids[r, c]) - 1) % 26)
    chars[tuple(layout.goal)] = "G"
    occupied: dict[tuple[int, int], int] = {}
    for i in np.flatnonzero(alive):
        rc = (int(positions[i, 0]), int(positions[i, 1]))
        occupied[rc] = occupied.get(rc, 0) + 1
        chars[rc] = "*" if occupied[rc] > 1 else str(i % 10)
    return "\n".join("".join(row) for row in chars)


def render_rgb(layout: Layout, positions: np.ndarray, alive: np.ndarray,
               tile: int = TILE) -> np.ndarray:
    """An image (H * tile, W * tile, 3) uint8: walls dark, goal green, landmarks as
    pale tinted squares, live agents as coloured discs."""
    H, W = layout.walls.shape
    colours = np.where(layout.walls[..., None], _WALL, _FLOOR)
    if layout.landmarks.any():
        tints = palette(int(layout.landmarks.max()), saturation=0.35, offset=0.1)
        marked = layout.landmarks > 0
        colours[marked] = tints[layout.landmarks[marked] - 1]
    colours[tuple(layout.goal)] = _GOAL
    image = np.repeat(np.repeat(colours, tile, axis=0), tile, axis=1)
    yy, xx = np.mgrid[:tile, :tile] - (tile - 1) / 2
    disc = yy**2 + xx**2 <= (tile * 0.4) ** 2
    agent_colours = palette(len(positions))
    for i in np.flatnonzero(alive):
        r, c = int(positions[i, 0]), int(positions[i, 1])
        patch = image[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
        patch[disc] = agent_colours[i]
    return image
