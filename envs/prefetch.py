"""Layouts made ahead of time in worker processes.

Layouts are generated on the CPU in Python (about 0.15 ms for a 4x4-cell DFS maze). With
thousands of mazes on a GPU that becomes the bottleneck of stepping: a maze that finishes
its episodes on a layout stalls the whole batch while the next one is generated.

Which layout a maze needs next is known early: after loading layout k of stream s it will
need layout k + 1 of the same stream. `LayoutPrefetcher` asks a pool of worker processes for
it at that moment, so that the reset that needs it only collects a finished result. A layout
is a pure function of `(seed, stream, k)` (see envs.world), so prefetched layouts are
identical to layouts made in place; only the time they are made differs.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from envs.config import MazeConfig
from envs.layouts import Layout, make_layout

Key = tuple[int, int, int]  # (seed, stream, k)


def layout_for(config: MazeConfig, key: Key) -> Layout:
    """Layout k of stream `stream` under `seed`: the one definition both paths use."""
    seed, stream, k = key
    return make_layout(config.generator, config.rows, config.cols, config.n_agents,
                       np.random.SeedSequence([seed, stream, k]), config.braid,
                       config.n_landmarks, config.room_size, config.goal, config.spawn)


def _layouts_for(config: MazeConfig, keys: list[Key]) -> list[Layout]:
    return [layout_for(config, key) for key in keys]


class LayoutPrefetcher:
    """A pool of `workers` processes making layouts of one config ahead of need.

    `request(keys)` starts work on keys not already pending (in chunks of `chunk` keys per
    task, to amortise inter-process overhead); `take(keys)` returns their layouts in order,
    requesting any that were not asked for and waiting for all. `clear()` forgets pending
    work (when the seed changes). Workers start with the `spawn` method, which is safe with
    CUDA and threads in the parent; like PyTorch's DataLoader workers, it re-imports the main
    script, so a script that creates the env must guard its entry point with
    `if __name__ == "__main__":`.
    """

    def __init__(self, config: MazeConfig, workers: int, chunk: int = 32):
        if workers < 1:
            raise ValueError(f"layout workers={workers} must be >= 1 (0 means no prefetching)")
        self.config, self.chunk = config, chunk
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self._pending: dict[Key, tuple[Future, int]] = {}

    def request(self, keys: list[Key]) -> None:
        new = [key for key in dict.fromkeys(keys) if key not in self._pending]
        for start in range(0, len(new), self.chunk):
            part = new[start:start + self.chunk]
            future = self._pool.submit(_layouts_for, self.config, part)
            for i, key in enumerate(part):
                self._pending[key] = (future, i)

    def take(self, keys: list[Key]) -> list[Layout]:
        self.request(keys)
        out = []
        try:
            for key in keys:
                future, i = self._pending.pop(key)
                out.append(future.result()[i])
        except BrokenProcessPool as e:
            raise RuntimeError(
                "layout workers died. With layout_workers > 0 the main script must guard its entry "
                "point with `if __name__ == \"__main__\":` (workers start with multiprocessing's "
                "spawn method, which re-imports it); or use layout_workers=0.") from e
        return out

    def clear(self) -> None:
        for future, _ in self._pending.values():
            future.cancel()
        self._pending.clear()

    def close(self) -> None:
        self.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
