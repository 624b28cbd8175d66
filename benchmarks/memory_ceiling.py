"""What memory can deliver on the memory task: the reference agents, no learning, per memory mode.

    python benchmarks/memory_ceiling.py                                  # explorer, trail follower
    python benchmarks/memory_ceiling.py --set "env.rows=8 env.cols=8" --seeds 0 1 2 3 4
    python benchmarks/memory_ceiling.py --modes none shared --set "memory.content.history=1"
    python benchmarks/memory_ceiling.py --experiment memory_small        # the task on 3x3 cells

Each cell evaluates one scripted agent (agents/scripted.py) with one memory mode under the
memory task's protocol (`+experiment=memory`, or the preset `--experiment` names, plus `--set`
overrides): every held-out layout is played `eval.visits` times by the same agents (recurrent
state cleared, long-term memory kept), then once by a newcomer generation (solo stores
cleared, shared stores kept). A seed draws its own held-out layouts (eval.layout_seed + seed)
and tie-breaks. Printed: the mean over seeds [lowest-highest seed] of success and of steps /
shortest path on successes, per visit and for the newcomers. This is a script, not a test: it
asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from experiments.evaluate import phase_names
from experiments.references import compose, measure
from fileio.atomic import atomic_write_text
from training_cli import spread

MEMORY_TASKS = ("memory", "memory_small", "culture")   # configs/experiment/ presets with the memory protocol


def add_experiment_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiment", default="memory", choices=MEMORY_TASKS,
                        help="the memory task's preset (configs/experiment/): memory (5x5 cells), "
                             "memory_small (3x3 cells) or culture (3x3 cells at the main job's PPO settings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", nargs="+", default=["explorer", "trail_follower"])
    parser.add_argument("--modes", nargs="+", default=["none", "solo", "shared"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", default="", metavar="OVERRIDES",
                        help="space-separated Hydra overrides applied to every cell")
    parser.add_argument("--json", default=None, help="also write every measurement to this file")
    add_experiment_option(parser)
    args = parser.parse_args()
    overrides = args.set.split()
    try:  # a bad name or override fails here, before any work
        cfgs = {(a, m): compose(a, m, 0, overrides, args.experiment) for a in args.agents for m in args.modes}
    except Exception as err:  # Hydra and our config checks raise several types
        parser.error(str(err))
    names = phase_names(next(iter(cfgs.values())).eval)
    maze = next(iter(cfgs.values())).maze
    print(f"memory task ({args.experiment}): {maze.rows}x{maze.cols} cells, {maze.n_agents} agents, spawn {maze.spawn}, "
          f"max_steps {maze.horizon}; seeds {args.seeds}; overrides {overrides or 'none'}", flush=True)
    results = {}
    start = time.perf_counter()
    for (agent, mode) in cfgs:
        if agent == "explorer" and mode != "none":
            continue            # the explorer reads no long-term memory: one mode says it all
        runs = [measure(agent, mode, s, overrides, experiment=args.experiment) for s in args.seeds]
        results[f"{agent}/{mode}"] = runs
        print(f"  {agent}/{mode} done ({time.perf_counter() - start:.0f} s)", flush=True)
    for metric, title in (("success_rate", "success"), ("steps_over_bfs", "steps / shortest path")):
        print(f"\n{title}: mean over seeds [lowest-highest]")
        print(f"{'agent/mode':<22}" + "".join(f"{n:>20}" for n in names))
        for key, runs in results.items():
            print(f"{key:<22}" + "".join(f"{spread([r[f'{n}/{metric}'] for r in runs], 'mean'):>20}" for n in names))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps({"experiment": args.experiment, "overrides": overrides,
                                                       "seeds": args.seeds,
                                                       "results": results}, indent=2))


if __name__ == "__main__":
    main()
