"""How far trained agents get on the memory task, per memory mode, beside the reference agents.

    python benchmarks/memory_learning.py                            # lstm x none/solo/shared x seeds 0-2
    python benchmarks/memory_learning.py --agents lstm ctm_small --modes none shared --jobs 2
    python benchmarks/memory_learning.py --set "total_steps=614400"

Each run is the memory task's config (`+experiment=memory`: outcome-labelled content, layouts
replayed during training, the main job's PPO settings and budget) with one agent, memory mode
and seed, plus the `--set` overrides. Runs go `--jobs` at a time, one torch thread each
(`--threads`). The reference agents (agents/scripted.py: the explorer without long-term memory,
the trail follower per mode) and the random policy are evaluated on the same held-out layouts
under the same protocol: visits 1..K by the same agents, then the newcomers. Printed: the
interquartile mean over seeds [lowest-highest run] of success and of steps / shortest path.
This is a script, not a test: it asserts nothing.
"""
from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from experiments.evaluate import phase_names, random_baseline
from fileio.atomic import atomic_write_text
from memory_ceiling import compose, measure
from training_cli import parse, parser_with_run_options, spread

REFERENCES = [("explorer", "none"), ("trail_follower", "none"), ("trail_follower", "solo"),
              ("trail_follower", "shared")]


def train_one(agent: str, mode: str, seed: int, overrides: list[str], threads: int, out: str) -> dict:
    from experiments.train import train

    run_dir = Path(out) / f"{agent}_{mode}_seed{seed}"
    cfg = compose(agent, mode, seed, [f"torch_threads={threads}", f"run_dir={run_dir}",
                                      "log.images_every=0", *overrides])
    start = time.perf_counter()
    final = {k.removeprefix("eval/"): v for k, v in train(cfg).items() if k.startswith("eval/")}
    final["minutes"] = (time.perf_counter() - start) / 60
    return final


def main() -> None:
    parser = parser_with_run_options(__doc__)
    parser.add_argument("--agents", nargs="+", default=["lstm"], help="trained agents (configs/agent/)")
    parser.add_argument("--modes", nargs="+", default=["none", "solo", "shared"])
    args = parse(parser)
    overrides = args.overrides
    try:  # a bad name or override fails here, before any run starts
        cfg = compose(args.agents[0], args.modes[0], 0, overrides)
        for agent in args.agents:
            for mode in args.modes:
                compose(agent, mode, 0, overrides)
    except Exception as err:  # Hydra and our config checks raise several types
        parser.error(str(err))
    out = args.out or tempfile.mkdtemp(prefix="memory_learning_")
    maze = cfg.maze
    print(f"memory task: {maze.rows}x{maze.cols} cells, max_steps {maze.horizon}, {cfg.total_steps} agent-steps "
          f"per run; agents {args.agents}, modes {args.modes}, seeds {args.seeds}; overrides "
          f"{overrides or 'none'}; {args.jobs} job(s) x {args.threads} thread(s); runs in {out}", flush=True)
    results: dict[str, list[dict]] = {}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_one, a, m, s, overrides, args.threads, out): (a, m, s)
                   for s in args.seeds for a in args.agents for m in args.modes}
        for future in as_completed(futures):
            agent, mode, seed = futures[future]
            final = future.result()
            results.setdefault(f"{agent}/{mode}", []).append(final)
            print(f"  {agent}/{mode} seed {seed}: success {final['success_rate']:.3f}, newcomer "
                  f"{final.get('newcomer/success_rate', float('nan')):.3f} ({final['minutes']:.1f} min)", flush=True)
    for agent, mode in REFERENCES:
        results[f"{agent}/{mode} (ref)"] = [measure(agent, mode, s, overrides, own_layouts=False) for s in args.seeds]
    results["random (ref)"] = [random_baseline(compose("random", "none", 0, overrides), seed=s) for s in args.seeds]
    names = phase_names(cfg.eval)
    order = sorted(k for k in results if "(ref)" not in k) + [k for k in results if "(ref)" in k]
    for metric, title in (("success_rate", "success"), ("steps_over_bfs", "steps / shortest path")):
        print(f"\n{title}: IQM over seeds [lowest-highest run]")
        print(f"{'agent/mode':<28}" + "".join(f"{n:>20}" for n in names))
        for key in order:
            print(f"{key:<28}" + "".join(f"{spread([r.get(f'{n}/{metric}', np.nan) for r in results[key]]):>20}"
                                         for n in names))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps({"overrides": overrides, "seeds": args.seeds,
                                                       "results": results}, indent=2))


if __name__ == "__main__":
    main()
