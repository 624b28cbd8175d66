"""Progress across processes: one line for a whole sweep.

Each run keeps `progress.json` in its run directory (agent-steps done and its total), replaced
by rename at every update. The main job's `SweepProgress`, a background thread, sums a sweep's
files into one line on stderr: runs done / running, agent-steps done of the total, and an ETA.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fileio.atomic import atomic_write_text

FILE_NAME = "progress.json"


def write_run_progress(run_dir: Path, steps: int, total: int) -> None:
    """Replace run_dir/progress.json by rename, so a reader never sees half a file. No fsync:
    the file is a hint rewritten every update, not something to recover after a crash."""
    atomic_write_text(Path(run_dir) / FILE_NAME, json.dumps({"steps": int(steps), "total": int(total)}),
                      durable=False)


def read_run_progress(path: Path) -> tuple[int, int] | None:
    """(steps done, total) from one progress file, or None if it is gone or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
        return int(data["steps"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def progress_files(sweep_dir: Path) -> list[Path]:
    """The progress files below `sweep_dir`. os.walk skips folders that vanish while it looks
    (runs rename and delete checkpoint folders); it does not descend into a run directory."""
    found = []
    for folder, subfolders, files in os.walk(sweep_dir):
        if FILE_NAME in files:
            found.append(Path(folder) / FILE_NAME)
            subfolders.clear()
        else:
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
    return sorted(found)


@dataclass(frozen=True)
class SweepSnapshot:
    runs: int      # runs in the sweep
    done: int      # runs whose steps reached their total
    running: int   # runs started and not done
    steps: int     # agent-steps done, all runs
    total: int     # agent-steps of the whole sweep


def sweep_snapshot(sweep_dir: Path, runs: int, steps_per_run: int) -> SweepSnapshot:
    """Where a sweep of `runs` runs stands. A run without a progress file has not started and
    counts `steps_per_run`; a started run counts the total its own file states."""
    found = [p for p in map(read_run_progress, progress_files(sweep_dir)) if p]
    done = sum(steps >= total for steps, total in found)
    waiting = max(0, runs - len(found))
    return SweepSnapshot(runs=len(found) + waiting, done=done, running=len(found) - done,
                         steps=sum(min(steps, total) for steps, total in found),
                         total=sum(total for _, total in found) + waiting * steps_per_run)


def progress_line(snap: SweepSnapshot, steps_per_second: float | None) -> str:
    """One line, e.g. `sweep: 3/9 runs done, 2 running | 1,024/9,216 agent-steps (11%) | ETA 4m05s`."""
    share = snap.steps / snap.total if snap.total else 0.0
    if snap.steps >= snap.total:
        eta = "0s"
    elif steps_per_second:
        eta = format_duration((snap.total - snap.steps) / steps_per_second)
    else:
        eta = "--"
    return (f"sweep: {snap.done}/{snap.runs} runs done, {snap.running} running | "
            f"{snap.steps:,}/{snap.total:,} agent-steps ({share:.0%}) | ETA {eta}")


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class SweepProgress:
    """A background thread that shows a sweep's progress line until stopped.

    On a terminal the line is refreshed in place every `interval` seconds (default 2); into a
    file or pipe, where nothing can be redrawn, a new line is written every 30 s instead.
    The ETA divides the steps left by the rate measured since the first step was seen.
    """

    def __init__(self, sweep_dir: Path, runs: int, steps_per_run: int,
                 stream: TextIO | None = None, interval: float | None = None):
        if runs < 1 or steps_per_run < 1:
            raise ValueError(f"runs={runs} and steps_per_run={steps_per_run} must both be >= 1")
        if interval is not None and interval <= 0:
            raise ValueError(f"interval={interval} must be > 0 seconds")
        self.sweep_dir, self.runs, self.steps_per_run = Path(sweep_dir), runs, steps_per_run
        self.stream = sys.stderr if stream is None else stream
        self.redraw = self.stream.isatty()
        self.interval = interval if interval is not None else (2.0 if self.redraw else 30.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sweep-progress", daemon=True)
        self._start: tuple[float, int] | None = None
        self._width = 0

    def __enter__(self) -> SweepProgress:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread (waking it from its wait) and leave the final line on its own line."""
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join()
        self._show(final=True)

    def _loop(self) -> None:
        while True:
            self._show(final=False)
            if self._stop.wait(self.interval):
                return

    def _show(self, final: bool) -> None:
        snap = sweep_snapshot(self.sweep_dir, self.runs, self.steps_per_run)
        line = progress_line(snap, self._rate(snap.steps))
        if self.redraw:
            # Pad over the previous line's tail; a newline only once the sweep has ended.
            self.stream.write("\r" + line.ljust(self._width) + ("\n" if final else ""))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _rate(self, steps: int) -> float | None:
        # The clock starts at the first step seen, so the sweep's start-up does not count as
        # training time (each run's own start-up, which recurs, does).
        now = time.monotonic()
        if self._start is None:
            if not steps:
                return None
            self._start = (now, steps)
        start_time, start_steps = self._start
        if steps <= start_steps or now <= start_time:
            return None
        return (steps - start_steps) / (now - start_time)
