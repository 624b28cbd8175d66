"""The culture table: trained runs on each visit of a held-out layout and as newcomers, per
agent and memory mode, beside reference agents evaluated under the same protocol.

    python -m analysis.culture SWEEP_DIR [--references FILE] [--json FILE]
    python -m analysis.culture --results FILE... [--figure PNG]   # saved --json files again, pooled

A run's numbers are its final evaluation (results.json, written when training ends): success
and steps / shortest path (on successes) for visits 1..K of each held-out layout by the same
agents, then for the newcomers (a new generation that finds only what a shared store kept).
Runs with `eval.random_writers` add the control "MODE random writers": the run's own first visit
on an empty store and its newcomers on a store that a random policy filled. Printed, with 95%
stratified-bootstrap intervals over runs: the interquartile mean (IQM) per phase; each run's
later phases minus its first visit; and between modes, the probability that a run of one beats
a run of the other. `--references` adds rows that experiments.references wrote (the scripted
agents); `--json` writes everything in the format `--results` reads; `--figure` draws each
mode's paths per phase beside the explorer and the trail follower.
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.runs import RunsError, config_value, find_runs, load_config
from analysis.stats import Estimate, aggregate_iqm, finite, interval_estimate, iqm, probability_of_improvement
from fileio.atomic import atomic_write_text

METRICS = (("success_rate", "success", True), ("steps_over_bfs", "steps / shortest path", False))
CONTROL = " random writers"
MODE_RANK = {"shared": 0, "solo": 1, "none": 2}     # each pair of modes: the more sharing one first


def number(value: float, digits: int = 2, signed: bool = False) -> str:
    return f"{value:{'+' if signed else ''}.{digits}f}"


def estimate_text(e: Estimate, digits: int = 2, signed: bool = False) -> str:
    """'point [low, high]'."""
    point, low, high = (number(v, digits, signed) for v in (e.point, e.low, e.high))
    return f"{point} [{low}, {high}]"


def interval(values, digits: int = 2, signed: bool = False) -> str:
    """'IQM [low, high]' of the finite values, the bracket a 95% bootstrap interval over runs
    (the runs resampled with replacement); '-' when there are none; `signed` writes a + sign."""
    x = finite(values)
    if not x.size:
        return "-"
    if x.size == 1:
        return number(x[0], digits, signed)
    return estimate_text(interval_estimate(aggregate_iqm, x), digits, signed)


def column(runs: list[dict], key: str) -> np.ndarray:
    return np.array([r.get(key, np.nan) for r in runs], dtype=float)


def gain(runs: list[dict], phase: str, metric: str) -> str:
    """IQM over runs of (phase - visit 1) within each run, with its interval; runs that have no
    value in either phase (no success, so no path length) are left out."""
    return interval(column(runs, f"{phase}/{metric}") - column(runs, f"visit_1/{metric}"), signed=True)


def beats(a: list[dict], b: list[dict], key: str, higher_is_better: bool) -> str:
    """P(a run of `a` beats a run of `b`) on `key`, with its interval."""
    x, y = finite(column(a, key)), finite(column(b, key))
    if not (x.size and y.size):
        return "-"
    sign = 1.0 if higher_is_better else -1.0
    return estimate_text(interval_estimate(lambda u, v: probability_of_improvement(sign * u, sign * v), x, y))


def phases(results: dict[str, list[dict]]) -> list[str]:
    """visit_1 .. visit_K, then newcomer, as far as any run has them."""
    names = {key.split("/")[0] for runs in results.values() for r in runs for key in r if "/" in key}
    visits = sorted((n for n in names if re.fullmatch(r"visit_\d+", n)), key=lambda n: int(n[6:]))
    return visits + ["newcomer"] * ("newcomer" in names)


def with_random_writers(results: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """`results` plus, for runs evaluated with eval.random_writers, a "MODE random writers" row:
    each run's first visit (its own, on an empty store) and its newcomers on a store that a
    random policy filled; the visits in between were the random policy's, so they are left out."""
    out = dict(results)
    for key, runs in results.items():
        if ("(ref)" in key or key.endswith("/none")       # without a store there is nothing to write
                or not any("random_writers/newcomer/success_rate" in r for r in runs)):
            continue
        out[f"{key}{CONTROL}"] = [
            {k: v for k, v in r.items() if k.startswith("visit_1/")} | {"seed": r["seed"]}
            | {k.removeprefix("random_writers/"): v for k, v in r.items() if k.startswith("random_writers/newcomer/")}
            for r in runs]
    return out


def mode_pairs(trained: list[str]) -> list[tuple[str, str]]:
    """Pairs of one agent's rows to compare: modes against each other (the more sharing first),
    a random-writer control against its own mode and against none."""
    control = lambda key: key.endswith(CONTROL)
    order = lambda key: (MODE_RANK.get(key.split("/")[1], len(MODE_RANK)), key)
    return [(a, b) for a in trained for b in trained if a.split("/")[0] == b.split("/")[0]
            and ((not control(a) and not control(b) and order(a) < order(b))
                 or (control(b) and a == b.removesuffix(CONTROL))
                 or (control(a) and b.split("/")[1] == "none" and not a.startswith(b)))]


def tables(results: dict[str, list[dict]], names: Sequence[str] | None = None) -> str:
    """The culture tables of `results` ({"AGENT/MODE": runs, "NAME (ref)": evaluations}) over the
    phases `names` (all the runs have, by default)."""
    names = list(names or phases(results))
    results = with_random_writers(results)
    trained = sorted(k for k in results if "(ref)" not in k)
    order = trained + [k for k in results if "(ref)" in k]
    head = lambda first, cols: f"{first:<44}" + "".join(f"{c:>22}" for c in cols)
    lines = []
    for metric, title, _ in METRICS:
        lines += ["", f"{title}: IQM over runs [95% interval]", head("agent/mode", names)]
        lines += [head(key, [interval(column(results[key], f"{n}/{metric}")) for n in names]) for key in order]
    later = names[1:]
    for metric, title, _ in METRICS:
        lines += ["", f"{title} within a run, each phase minus visit 1: IQM over runs [95% interval]",
                  head("agent/mode", [f"{n} - visit_1" for n in later])]
        lines += [head(key, [gain(results[key], n, metric) for n in later]) for key in trained]
    for metric, title, higher in METRICS:
        lines += ["", f"{title}, between modes: P(a run of the first beats a run of the second) [95% interval]",
                  head("first vs second", names)]
        lines += [head(f"{a} vs {b.split('/')[1]}", [beats(results[a], results[b], f"{n}/{metric}", higher)
                                                     for n in names]) for a, b in mode_pairs(trained)]
    return "\n".join(lines)


def figure_points(results: dict[str, list[dict]], names: Sequence[str]) -> dict[str, list[tuple]]:
    """What the figure draws: per trained row (modes from none to shared, each followed by its
    random-writer control), (IQM, low, high) of steps / shortest path per phase, NaN where no
    run has a value."""
    def estimate(runs, key):
        x = finite(column(runs, key))
        if not x.size:
            return (np.nan, np.nan, np.nan)
        e = interval_estimate(aggregate_iqm, x)
        return (e.point, e.low, e.high)
    rows = with_random_writers(results)
    return {key: [estimate(rows[key], f"{n}/steps_over_bfs") for n in names] for key in trained_rows(rows)}


def trained_rows(rows: dict[str, list[dict]]) -> list[str]:
    """The trained rows of `rows`, per agent from no sharing to shared, each mode followed by
    its random-writer control."""
    order = lambda key: (key.split("/")[0], -MODE_RANK.get(key.split("/")[1].removesuffix(CONTROL), -1),
                         key.endswith(CONTROL))
    return sorted((k for k in rows if "(ref)" not in k), key=order)


REFERENCE_LINES = (("explorer/none (ref)", "explorer (no long-term memory)", ":"),
                   ("trail_follower/shared (ref)", "trail follower, shared store", "--"))


def figure(results: dict[str, list[dict]], path: Path, names: Sequence[str] | None = None) -> dict:
    """Draw steps / shortest path per phase (IQM, 95% interval) for each trained row, with the
    scripted agents' newcomers (IQM over seeds) as lines; save a PNG at `path`; returns what
    was drawn."""
    from matplotlib.figure import Figure     # matplotlib's import is slow: only here

    names = list(names or phases(results))
    points = figure_points(results, names)
    one_agent = len({key.split("/")[0] for key in points}) == 1
    fig = Figure(figsize=(7.6, 4.4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(points))
    palette = (f"C{i}" for i in itertools.count())
    colours = {}                          # a control takes its mode's colour, hatched
    for i, (key, values) in enumerate(points.items()):
        colour = colours.setdefault(key.removesuffix(CONTROL), next(palette))
        mid, low, high = (np.array(v, dtype=float) for v in zip(*values))
        x = np.arange(len(names)) + (i - (len(points) - 1) / 2) * width
        label = key.split("/", 1)[1] if one_agent else key
        control = key.endswith(CONTROL)
        ax.bar(x, mid, width, yerr=[mid - low, high - mid], capsize=3, label=label, color=colour,
               alpha=0.45 if control else 0.85, hatch="//" if control else None, edgecolor=colour)
    drawn = {"trained": points, "references": {}}
    for key, label, style in REFERENCE_LINES:
        if key in results:
            level = float(iqm(finite(column(results[key], "newcomer/steps_over_bfs"))))
            ax.axhline(level, color="black", linestyle=style, linewidth=1.2, label=f"{label}: {level:.2f}")
            drawn["references"][key] = level
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(np.arange(len(names)), names)
    agent = f"{next(iter(points)).split('/')[0]}: " if one_agent and points else ""
    ax.set(ylabel="steps / shortest path (IQM, 95% CI)", ylim=(0, None),
           title=f"{agent}each visit of a held-out maze, then a newcomer generation")
    fig.legend(loc="outside lower center", fontsize="small", ncols=3)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=110)
    return drawn


def markdown(results: dict[str, list[dict]], names: Sequence[str] | None = None) -> str:
    """One markdown table of steps / shortest path per phase and success over all plays, the
    trained rows (modes from none to shared, each with its control) then the references; under
    it, per pair of modes, P(a run of the first beats a run of the second) on the last phase."""
    names = list(names or phases(results))
    rows = with_random_writers(results)
    trained = trained_rows(rows)
    head = ["steps / shortest path", *(n.replace("_", " ") for n in names), "success (all plays)"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for key in trained + [k for k in rows if "(ref)" in k]:
        cells = [interval(column(rows[key], f"{n}/steps_over_bfs")) for n in names]
        lines.append(f"| {key} | " + " | ".join([*cells, interval(column(rows[key], "success_rate"))]) + " |")
    pairs = mode_pairs(sorted(trained))
    if pairs:                       # one trained mode alone has nothing to be compared with
        last = names[-1].replace("_", " ")
        lines += ["", f"P(a run of the first beats a run of the second) on steps / shortest path, {last}:"]
        lines += [f"- {a} vs {b.split('/')[1]}: {beats(rows[a], rows[b], f'{names[-1]}/steps_over_bfs', False)}"
                  for a, b in pairs]
    return "\n".join(lines)


def run_label(config: dict, run_dir: Path) -> str:
    """"AGENT/MODE" of a run: the agent class's name and the memory mode."""
    agent = str(config_value(config, "agent._target_", run_dir)).rsplit(".", 1)[-1]
    return f"{agent}/{config_value(config, 'memory.mode', run_dir)}"


def load_finals(paths: Sequence[str | Path]) -> tuple[dict[str, list[dict]], list[int]]:
    """({"AGENT/MODE": each run's final evaluation, by seed}, the seeds) of the finished runs
    found under `paths`; a run without results.json (unfinished) is an error naming it."""
    results: dict[str, list[dict]] = {}
    for run_dir in find_runs(paths):
        config = load_config(run_dir)
        final_path = run_dir / "results.json"
        if not final_path.is_file():
            raise RunsError(f"{run_dir} has no results.json: the run did not finish")
        final = json.loads(final_path.read_text())
        run = {k.removeprefix("eval/"): v for k, v in final.items() if k.startswith("eval/")}
        run.update({k.removeprefix("eval_"): v for k, v in final.items() if k.startswith("eval_random_writers/")})
        run["seed"] = int(config_value(config, "seed", run_dir))
        results.setdefault(run_label(config, run_dir), []).append(run)
    if not results:
        raise RunsError(f"no run directories under {', '.join(map(str, paths))}")
    for runs in results.values():
        runs.sort(key=lambda r: r["seed"])
    return results, sorted({r["seed"] for runs in results.values() for r in runs})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m analysis.culture", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="*", help="run directories or folders above them (a multirun folder)")
    parser.add_argument("--references", default=None, metavar="FILE",
                        help="reference rows ({'NAME (ref)': evaluations}) to print beside the runs")
    parser.add_argument("--results", nargs="+", default=None, metavar="FILE",
                        help="print files --json (or maze-eval) wrote, their runs pooled; no runs read")
    parser.add_argument("--json", default=None, metavar="FILE", help="write the runs and references to this file")
    parser.add_argument("--figure", default=None, metavar="PNG", help="also draw the paths per phase here")
    parser.add_argument("--markdown", action="store_true", help="print one markdown table instead")
    args = parser.parse_args(argv)
    if bool(args.run_dirs) == bool(args.results):
        parser.error("give run directories or --results FILE (one of the two)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.results:
            results, seeds = {}, set()
            for path in args.results:
                saved = json.loads(Path(path).read_text())
                for key, runs in saved["results"].items():
                    results.setdefault(key, []).extend(runs)
                seeds.update(saved["seeds"])
            seeds = sorted(seeds)
        else:
            results, seeds = load_finals(args.run_dirs)
        if args.references:
            results.update(json.loads(Path(args.references).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as err:   # RunsError and bad JSON are ValueErrors
        print(f"culture: error: {err}", file=sys.stderr)
        return 2
    print(markdown(results) if args.markdown else tables(results))
    if args.figure:
        figure(results, Path(args.figure))
        print(f"\nFigure: {args.figure}")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps({"seeds": seeds, "results": results}, indent=2))
        print(f"\nResults: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
