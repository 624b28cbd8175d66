"""How hard a preset's task is before anything learns: a scripted explorer and the random policy.

    python benchmarks/task_bounds.py --experiment gpu
    python benchmarks/task_bounds.py --experiment gpu --set "env.spawn=random"
    python benchmarks/task_bounds.py --experiment compare --seeds 0 1 2 3 4

Both play the preset's own held-out evaluation (its layouts, visits and episode limit, memory
`none`), one seed at a time; a seed draws its own held-out layouts. The explorer
(agents/scripted.py) maps every square it has seen this episode and walks to the nearest
unexplored one: what an agent that remembers where it has been can reach, and so whether the
task can reward learning at all. The random policy is the floor, and its success says how often
an untrained policy meets a reward to learn from. Printed per agent: the mean over seeds
[lowest-highest] of success and of steps / shortest path on successes. This is a script, not a
test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch
from omegaconf import OmegaConf

from agents.params import load_config
from experiments.build import bank_factory, make_agent
from experiments.evaluate import evaluate, random_baseline
from experiments.main import CONFIGS, run_config
from training_cli import spread


EXPLORER = OmegaConf.to_container(load_config(CONFIGS / "agent" / "explorer.yaml"))


def task_config(experiment: str, seed: int, overrides: list[str]):
    """The preset's run config with memory `none`, the explorer as its agent (the preset's own
    agent knobs, meant for a learner, are dropped) and the seed's own held-out layouts."""
    base = [f"+experiment={experiment}", "memory=none", f"seed={seed}", "device=cpu", "compile=false", *overrides]
    cfg = run_config(base)
    cfg.agent = dict(EXPLORER)
    cfg.eval = replace(cfg.eval, layout_seed=cfg.eval.layout_seed + seed)
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="gpu", help="preset in configs/experiment/")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", default="", metavar="OVERRIDES", help="space-separated Hydra overrides")
    args = parser.parse_args()
    overrides = args.set.split()
    try:  # a bad preset or override fails here, before any work
        cfgs = [task_config(args.experiment, seed, overrides) for seed in args.seeds]
    except Exception as err:  # Hydra and our config checks raise several types
        parser.error(str(err))
    maze, ev = cfgs[0].maze, cfgs[0].eval
    print(f"{args.experiment}: {maze.rows}x{maze.cols} cells, {maze.n_agents} agents, spawn {maze.spawn}, "
          f"max_steps {maze.horizon}; {ev.episodes} held-out layouts x {ev.visits} visits; seeds {args.seeds}; "
          f"overrides {overrides or 'none'}", flush=True)
    torch.set_num_threads(1)
    device = torch.device("cpu")
    results: dict[str, list[dict[str, float]]] = {"explorer": [], "random": []}
    start = time.perf_counter()
    for seed, cfg in zip(args.seeds, cfgs):
        explorer = make_agent(cfg, cfg.maze.obs_shape, 5, device)
        results["explorer"].append(evaluate(explorer, cfg, bank_factory(cfg, explorer, cfg.maze.n_agents, device),
                                            device, greedy=True, seed=seed))
        results["random"].append(random_baseline(cfg, seed=seed))
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{'agent':<10}{'success':>22}{'steps / shortest path':>24}")
    for name, runs in results.items():
        print(f"{name:<10}{spread([r['success_rate'] for r in runs], 'mean'):>22}"
              f"{spread([r['steps_over_bfs'] for r in runs], 'mean'):>24}")


if __name__ == "__main__":
    main()
