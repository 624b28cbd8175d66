"""Where each agent stands: several agents trained side by side on the navigation task.

    python benchmarks/learning.py                                   # ff, lstm, gru, ctm_small x seeds 0-2
    python benchmarks/learning.py --agents lstm ctm_small --seeds 0 1 2 3 4 --jobs 2
    python benchmarks/learning.py --set "total_steps=409600 algo.update_epochs=2"
    python benchmarks/learning.py --agents lstm --set "++agent.orthogonal_heads=false"   # a knob the YAML omits
    python benchmarks/learning.py --agents lstm ctm_small --portable   # CPU-independent kernel paths

Each run is the navigation comparison's config (`+experiment=compare`, memory `none`) with one
agent and seed, plus the `--set` overrides. Runs go `--jobs` at a time in separate processes, one torch
thread each (`--threads`). The random policy is evaluated under the same protocol. Printed per
run as it ends, then per agent: the interquartile mean over seeds, with the lowest and highest
run, of held-out success (sampled and greedy actions) and steps / shortest path on successes.
A run's exact numbers depend on the CPU's kernel paths unless `--portable` pins them
(experiments/machine.py, docs/learning.md "Which CPU"); the header names the machine.
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

from experiments.config import TrainConfig
from experiments.main import run_config
from fileio.atomic import atomic_write_text
from training_cli import machine_line, parse, parser_with_run_options, spread

COLUMNS = {"success": "eval/success_rate", "greedy": "eval_greedy/success_rate",
           "steps/bfs": "eval/steps_over_bfs"}


def compose_config(overrides: list[str]) -> TrainConfig:
    """The navigation comparison's config (compare.yaml) without memory, plus `overrides`."""
    return run_config(["+experiment=compare", "memory=none", *overrides])


def train_one(agent: str, seed: int, overrides: list[str], threads: int, out: str) -> dict[str, float]:
    from experiments.train import train

    run_dir = Path(out) / f"{agent}_seed{seed}"
    cfg = compose_config([f"agent={agent}", f"seed={seed}", f"torch_threads={threads}",
                          f"run_dir={run_dir}", "log.images_every=0", *overrides])
    start = time.perf_counter()
    final = train(cfg)
    final["minutes"] = (time.perf_counter() - start) / 60
    return final


def random_policy(agent: str, overrides: list[str]) -> dict[str, float]:
    """The random policy under the runs' evaluation protocol. random_baseline reads only the env
    and evaluation settings of a config, so a trained agent's own config (knobs and all) serves."""
    from experiments.evaluate import random_baseline

    return random_baseline(compose_config([f"agent={agent}", *overrides]))


def summarise(name: str, runs: list[dict[str, float]]) -> str:
    cells = [spread([r.get(key, np.nan) for r in runs], digits=3) for key in COLUMNS.values()]
    minutes = np.mean([r["minutes"] for r in runs])
    return f"{name:<12} {len(runs):>5} " + " ".join(f"{c:>20}" for c in cells) + f" {minutes:>8.1f}"


def main() -> None:
    parser = parser_with_run_options(__doc__)
    parser.add_argument("--agents", nargs="+", default=["feedforward", "lstm", "gru", "ctm_small"],
                        help="agent config names (configs/agent/)")
    args = parse(parser)
    overrides = args.overrides
    for agent in args.agents:  # a bad agent name or override fails here, before any run starts
        try:
            compose_config([f"agent={agent}", *overrides])
        except Exception as err:  # Hydra and our config checks raise several types
            parser.error(f"agent {agent!r} with overrides {overrides}: {err}")
    out = args.out or tempfile.mkdtemp(prefix="learning_")
    print(f"agents {args.agents}, seeds {args.seeds}, overrides {overrides or 'none'}; "
          f"{args.jobs} job(s) x {args.threads} thread(s); runs in {out}\n{machine_line(args)}", flush=True)
    results: dict[str, list[dict[str, float]]] = {a: [] for a in args.agents}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_one, a, s, overrides, args.threads, out): (a, s)
                   for s in args.seeds for a in args.agents}
        for future in as_completed(futures):
            agent, seed = futures[future]
            final = future.result()
            final["seed"] = seed
            results[agent].append(final)
            print(f"  {agent:<12} seed {seed}: " + ", ".join(
                f"{name} {final.get(key, float('nan')):.3f}" for name, key in COLUMNS.items())
                  + f" ({final['minutes']:.1f} min)", flush=True)
    rand = random_policy(args.agents[0], overrides)
    print(f"\nIQM over seeds [lowest-highest run]; held-out layouts, {args.seeds} seeds")
    print(f"{'agent':<12} {'runs':>5} " + " ".join(f"{c:>20}" for c in COLUMNS) + f" {'minutes':>8}")
    for agent in args.agents:
        print(summarise(agent, results[agent]))
    print(f"{'random':<12} {'':>5} {rand['success_rate']:>20.3f} {'':>20} {rand['steps_over_bfs']:>20.3f}")
    if args.json:
        record = {"overrides": overrides, "machine": machine_line(args), "portable": args.portable,
                  "runs": results, "random": rand}
        atomic_write_text(Path(args.json), json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
