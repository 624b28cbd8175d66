"""Compare groups of runs across seeds: IQM, bootstrap confidence intervals, probability of improvement.

    python -m analysis.compare RUN_DIRS... [--group-by memory.mode] [--metrics TAG,...]
                                  [--out DIR] [--final-fraction 0.1] [--reps 2000] [--seed 0]

RUN_DIRS are run directories or folders anywhere above them (a Hydra multirun folder). Runs
are grouped by dotted keys of their config.yaml. Per metric, each run is reduced to a final
score (the mean of the last `--final-fraction` of its logged points); each group is then
summarised by the interquartile mean (IQM) of its runs' final scores with a 95% stratified
bootstrap interval, and groups are compared by the probability of improvement. A table per
metric is printed, and report.md with PNG plots (learning curves with bands, final scores)
is written to `--out`.
"""
from __future__ import annotations

import argparse
import fnmatch
import math
import os
import re
import sys
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from analysis import stats
from analysis.results import Comparison, Curve, GroupResult, Improvement, MetricResult
from analysis.runs import Run, RunsError, Series, config_value, find_runs, flatten_config, is_run_dir, load_run

DEFAULT_METRICS = ("charts/success_rate", "charts/episodic_return", "charts/steps_to_goal_over_bfs",
                   "eval/success_rate", "eval/steps_over_bfs", "eval/visit_*/success_rate",
                   "eval/visit_*/steps_over_bfs", "eval/newcomer/success_rate", "eval/newcomer/steps_over_bfs",
                   "eval_random_writers/newcomer/success_rate", "eval_random_writers/newcomer/steps_over_bfs")
# Metrics where a smaller value is the better one: path efficiency (steps / shortest path),
# episode lengths and losses. Probability of improvement is computed in that direction.
LOWER_IS_BETTER = ("steps_to_goal_over_bfs", "steps_over_bfs", "episodic_length", "episode_length")
CURVE_POINTS = 200


def higher_is_better(tag: str) -> bool:
    name = tag.rsplit("/", 1)[-1]
    return not (name in LOWER_IS_BETTER or tag.startswith("losses/") or name.endswith("_loss"))


def final_score(series: Series, fraction: float) -> float:
    """Mean of the last `fraction` of a run's logged points (at least one point)."""
    k = max(1, math.ceil(fraction * len(series.values)))
    return float(series.values[-k:].mean())


def group_values(run: Run, keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(config_value(run.config, key, run.path)) for key in keys)


def group_label(values: tuple[str, ...]) -> str:
    return " / ".join(values)


def order_groups(values: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Memory modes in the order their mappings were registered (none, solo, shared: least to
    most memory, then any registered later), other values in natural order."""
    # Imported here: `memory` brings torch and FAISS, which nothing else of a comparison needs.
    from memory.mapping import MAPPINGS

    rank = {name: i for i, name in enumerate(MAPPINGS)}
    return sorted(set(values), key=lambda vs: [(rank.get(v, len(rank)), _natural(v)) for v in vs])


def select_metrics(requested: Sequence[str] | None, available: set[str]) -> list[str]:
    """Tags to compare: the requested ones (glob patterns allowed), or the defaults present."""
    listing = ", ".join(sorted(available)) or "(no scalars at all)"
    if requested:
        chosen: list[str] = []
        for pattern in requested:
            matches = sorted(fnmatch.filter(available, pattern), key=_natural)
            if not matches:
                raise RunsError(f"metric {pattern!r} is not logged by any run; available tags: {listing}")
            chosen += [m for m in matches if m not in chosen]
        return chosen
    chosen = [m for pattern in DEFAULT_METRICS for m in sorted(fnmatch.filter(available, pattern), key=_natural)]
    if not chosen:
        raise RunsError(f"none of the default metrics ({', '.join(DEFAULT_METRICS)}) is logged by any run; "
                        f"pick some with --metrics; available tags: {listing}")
    return chosen


def _natural(text: str):
    """Sort key under which visit_2 comes before visit_10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _rng(seed: int, *names: str) -> np.random.Generator:
    # One stream per estimate, so a number does not change when other metrics or groups are added.
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def group_curve(series: list[Series], reps: int, rng: np.random.Generator) -> Curve | None:
    """IQM curve with a bootstrap band, over the step range every run of the group covers."""
    lo = max(int(s.steps[0]) for s in series)
    hi = min(int(s.steps[-1]) for s in series)
    if lo > hi:
        return None     # the runs share no step range: any curve would be extrapolated
    steps = np.unique(np.concatenate([s.steps[(s.steps >= lo) & (s.steps <= hi)] for s in series]))
    if len(steps) > CURVE_POINTS:
        steps = np.linspace(lo, hi, CURVE_POINTS)
    curves = np.stack([np.interp(steps, s.steps, s.values) for s in series])    # (n_runs, P)
    mid, low, high = stats.curve_iqm_band(curves, reps=reps, rng=rng)
    return Curve(steps.astype(np.float64), mid, low, high)


def compare_metric(tag: str, groups: dict[str, list[Run]], fraction: float, reps: int, seed: int,
                   candidate: str | None) -> MetricResult:
    """Final scores, IQM with CI, curves and probabilities of improvement of one tag; `groups`
    in display order, groups where no run logged the tag left out."""
    better_high = higher_is_better(tag)
    results: list[GroupResult] = []
    for name in groups:
        have = [r for r in groups[name] if tag in r.scalars]
        if not have:
            continue
        series = [r.scalars[tag] for r in have]
        finals = np.array([final_score(s, fraction) for s in series])
        results.append(GroupResult(
            name=name, runs=have, finals=finals,
            iqm=stats.interval_estimate(stats.aggregate_iqm, finals, reps=reps, rng=_rng(seed, tag, name, "iqm")),
            mean=float(finals.mean()),
            curve=group_curve(series, reps, _rng(seed, tag, name, "curve")),
            missing=len(groups[name]) - len(have)))
    sign = 1.0 if better_high else -1.0
    by_name = {g.name: g for g in results}
    improvements = []
    for a, b in improvement_pairs([g.name for g in results], candidate):
        est = stats.interval_estimate(stats.probability_of_improvement, sign * by_name[a].finals,
                                      sign * by_name[b].finals, reps=reps, rng=_rng(seed, tag, a, b, "poi"))
        improvements.append(Improvement(a, b, est))
    return MetricResult(tag, better_high, results, improvements)


def improvement_pairs(names: list[str], candidate: str | None) -> list[tuple[str, str]]:
    """The candidate (default: `shared` when present) against every other group; without
    one, every later group in the order against every earlier one."""
    if candidate is None and "shared" in names:
        candidate = "shared"
    if candidate is not None:
        return [(candidate, other) for other in names if other != candidate] if candidate in names else []
    return [(a, b) for i, a in enumerate(names) for b in names[:i]]


def config_differences(groups: dict[str, list[Run]], ignore: set[str]) -> tuple[dict, dict]:
    """Config keys (flattened, dotted) other than `ignore` that differ between runs.

    Returns `(within, between)`: keys that vary inside at least one group (the IQM then pools
    runs that were set up differently), and keys constant inside every group but not across
    groups (the comparison measures them together with the group key). Each maps the key to
    its distinct values, as text.
    """
    flats = {name: [flatten_config(r.config) for r in runs] for name, runs in groups.items()}
    keys = sorted(set().union(*(f for fs in flats.values() for f in fs)) - ignore)
    within, between = {}, {}
    for key in keys:
        per_group = {name: list(dict.fromkeys(str(f[key]) if key in f else "(missing)" for f in fs))
                     for name, fs in flats.items()}
        distinct = list(dict.fromkeys(v for vs in per_group.values() for v in vs))
        if any(len(vs) > 1 for vs in per_group.values()):
            within[key] = distinct
        elif len(distinct) > 1:
            between[key] = distinct
    return within, between


def compare(paths: Sequence[str], group_by: Sequence[str] = ("memory.mode",), metrics: Sequence[str] | None = None,
            final_fraction: float = 0.1, reps: int = 2000, seed: int = 0,
            candidate: str | None = None) -> Comparison:
    """Load the runs below `paths` and compute every estimate; nothing is printed or written."""
    if not 0.0 < final_fraction <= 1.0:
        raise ValueError(f"--final-fraction must be in (0, 1], got {final_fraction}")
    if reps < 1:
        raise ValueError(f"--reps must be >= 1, got {reps}")
    runs = [load_run(p) for p in find_runs(paths)]
    by_values: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        by_values.setdefault(group_values(run, group_by), []).append(run)
    groups = {group_label(vs): by_values[vs] for vs in order_groups(list(by_values))}
    if candidate is not None and candidate not in groups:
        raise RunsError(f"--candidate {candidate!r} is not a group; groups: {', '.join(groups)}")
    available = set().union(*(r.scalars for r in runs))
    tags = select_metrics(metrics, available)
    results = [compare_metric(t, groups, final_fraction, reps, seed, candidate) for t in tags]
    # The seed is meant to vary; run_dir always does; the group keys define the groups.
    within, between = config_differences(groups, {"run_dir", "seed", *group_by})
    last = [max(int(s.steps[-1]) for s in r.scalars.values()) for r in runs if r.scalars]
    return Comparison(runs, list(group_by), groups, results, final_fraction, reps, seed,
                      within, between, (min(last, default=0), max(last, default=0)))


def default_out(paths: Sequence[str]) -> Path:
    """`report/` in the folder that holds all given paths; beside a single run, not inside it."""
    common = Path(os.path.commonpath([str(Path(p).resolve()) for p in paths]))
    if is_run_dir(common):
        common = common.parent
    return common / "report"


def _split(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="maze-compare", description=__doc__.split("\n\n")[0].strip(),
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Example: maze-compare multirun/compare_2025-01-01_12-00-00")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIRS",
                   help="run directories, or folders searched recursively for them")
    p.add_argument("--group-by", action="append", metavar="KEY[,KEY]",
                   help="dotted config.yaml keys whose values define the groups (default: memory.mode)")
    p.add_argument("--metrics", action="append", metavar="TAG[,TAG]",
                   help="scalar tags to compare, glob patterns allowed (default: success rate, return, "
                        "path efficiency and eval/ metrics, those present)")
    p.add_argument("--out", type=Path, metavar="DIR", help="report directory (default: report/ beside the runs)")
    p.add_argument("--final-fraction", type=float, default=0.1, metavar="X",
                   help="final score of a run = mean over this last fraction of its logged points (default 0.1)")
    p.add_argument("--reps", type=int, default=2000, metavar="N", help="bootstrap replicates (default 2000)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the bootstrap resampling (default 0)")
    p.add_argument("--candidate", metavar="GROUP", help="group whose probability of improvement over every other group is "
                                       "reported (default: shared when present, else every pair)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `maze-compare`."""
    args = parse_args(argv)
    try:
        result = compare(args.run_dirs, _split(args.group_by) or ["memory.mode"], _split(args.metrics),
                         args.final_fraction, args.reps, args.seed, args.candidate)
    except (RunsError, ValueError) as err:
        print(f"maze-compare: error: {err}", file=sys.stderr)
        return 2
    from analysis import report     # matplotlib's import is slow; errors above come first

    out = args.out if args.out is not None else default_out(args.run_dirs)
    path = report.write(result, out)
    print(report.tables(result))
    print(f"\nReport: {path} (plots beside it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
