"""How steady training is: where each run's training success first reaches a level, and how far
it falls after that.

    python benchmarks/curve_dips.py RUNS...                       # run folders, or folders above them
    python benchmarks/curve_dips.py RUNS... --level 0.9 --after 50000 --tag charts/success_rate

For every run found under RUNS (the folders learning.py's --out or a multirun leave): the first
logged step past `--after` agent-steps at which the tag reaches `--level`, the lowest value
logged after that step, and the last value. A run that learns once and keeps it has its lowest
value near the level; a run whose policy falls apart and has to relearn shows a deep dip. The
early points are skipped because the first few rollouts finish few, short episodes. This is a
script, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse

import numpy as np

from analysis.runs import RunsError, find_runs, load_scalars


def dip(steps: np.ndarray, values: np.ndarray, level: float, after: int) -> tuple[int | None, float]:
    """(first step past `after` with value >= level, lowest value after it); (None, nan) if never."""
    reached = np.flatnonzero((steps > after) & (values >= level))
    if not reached.size:
        return None, float("nan")
    later = values[reached[0] + 1:]
    return int(steps[reached[0]]), float(later.min()) if later.size else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories or folders that contain them")
    parser.add_argument("--tag", default="charts/success_rate", help="the scalar to follow")
    parser.add_argument("--level", type=float, default=0.95, help="the level a run first reaches")
    parser.add_argument("--after", type=int, default=100_000, help="ignore points up to this many agent-steps")
    args = parser.parse_args()
    try:
        runs = find_runs(args.runs)
    except RunsError as err:
        parser.error(str(err))
    print(f"{args.tag}: first step past {args.after:,} at >= {args.level}, lowest value after it, last value")
    for run in runs:
        series = load_scalars(run).get(args.tag)
        if series is None:
            print(f"  {run}: no {args.tag}")
            continue
        first, lowest = dip(series.steps, series.values, args.level, args.after)
        where = f"{first:>9,}" if first is not None else f"{'never':>9}"
        print(f"  {run.parent.name + '/' + run.name:<36} {where}  lowest after {lowest:6.3f}  last {series.values[-1]:6.3f}")


if __name__ == "__main__":
    main()
