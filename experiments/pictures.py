"""Images for TensorBoard: trajectories over the maze, a visitation heat map, memory writes."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from envs.layouts import Layout
from envs.render import palette, render_rgb
from fileio.atomic import atomic_write_bytes

TILE = 8


def trajectories(layout: Layout, paths: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """The maze with each agent's path drawn in its colour.

    paths (T, N, 2) grid positions; alive (T, N) which steps to draw. Returns (H, W, 3) uint8."""
    image = render_rgb(layout, paths[-1], alive[-1], tile=TILE).copy()
    colours = palette(paths.shape[1])
    lo, hi = TILE // 2 - 1, TILE // 2 + 1
    for i in range(paths.shape[1]):
        for (r, c) in paths[alive[:, i], i]:
            image[r * TILE + lo:r * TILE + hi, c * TILE + lo:c * TILE + hi] = colours[i]
    return image


def heat_map(layout: Layout, counts: np.ndarray) -> np.ndarray:
    """Visits per square (H, W) as a red heat map over the maze; walls stay dark."""
    H, W = layout.walls.shape
    scaled = np.log1p(counts) / max(np.log1p(counts).max(), 1e-9)
    image = np.zeros((H, W, 3), dtype=np.uint8)
    image[..., 0] = (255 * scaled).astype(np.uint8)
    image[..., 1] = (255 * (1 - scaled) * 0.3).astype(np.uint8)
    image[layout.walls] = (40, 40, 48)
    return np.repeat(np.repeat(image, TILE, axis=0), TILE, axis=1)


def marks(layout: Layout, squares: np.ndarray, colour=(220, 40, 160)) -> np.ndarray:
    """The maze with the given squares (K, 2) marked, e.g. where memory entries were written."""
    image = render_rgb(layout, np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=bool), tile=TILE).copy()
    lo, hi = 1, TILE - 1
    for r, c in squares:
        image[r * TILE + lo:r * TILE + hi, c * TILE + lo:c * TILE + hi] = colour
    return image


def episode_frames(layout: Layout, paths: np.ndarray, alive: np.ndarray) -> list[np.ndarray]:
    """One RGB frame (H, W, 3) per step of an episode: paths (T, N, 2), alive (T, N)."""
    return [render_rgb(layout, paths[t], alive[t], tile=TILE) for t in range(len(paths))]


def save_gif(frames: list[np.ndarray], path, fps: int = 5) -> None:
    """Write frames as an animated GIF (Pillow; TensorBoard's video support needs moviepy < 2)."""
    buffer = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    atomic_write_bytes(Path(path), buffer.getvalue())


def save_png(image: np.ndarray, path) -> None:
    """Write an RGB image (H, W, 3) uint8 as a PNG, atomically."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    atomic_write_bytes(Path(path), buffer.getvalue())


def filmstrip(frames: list[np.ndarray], max_frames: int = 16) -> np.ndarray:
    """Up to `max_frames` evenly spaced frames side by side, for a TensorBoard image."""
    idx = np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int)
    return np.concatenate([frames[i] for i in idx], axis=1)
