"""The reference agents on a memory task: what trained runs are measured against.

The scripted explorer (no long-term memory) and the trail follower (agents/scripted.py: it
follows outcome entries that reached the goal) per memory mode, and the random policy, each
evaluated with the trained runs' evaluation protocol on their held-out layouts. With
`eval.random_writers`, the trail follower's newcomers are also measured on a store that a
random policy filled: what a reader that follows labels perfectly gets from such a store.

    python -m experiments.references PRESET --seeds 0 1 2 --out FILE [--overrides KEY=VALUE ...]

writes {"NAME (ref)": one evaluation per seed} as JSON (what `python -m analysis.culture
--references FILE` prints beside trained runs); the main job runs it after a memory task.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from experiments.build import bank_factory, make_agent
from experiments.evaluate import evaluate, random_baseline
from experiments.main import preset_names, run_config
from fileio.atomic import atomic_write_text

REFERENCES = (("explorer", "none"), ("trail_follower", "none"), ("trail_follower", "solo"),
              ("trail_follower", "shared"))


def compose(agent: str, mode: str, seed: int, overrides: Sequence[str], experiment: str = "memory"):
    """One run's config: preset `experiment` with this agent, memory mode and seed."""
    return run_config([f"+experiment={experiment}", f"agent={agent}", f"memory={mode}", f"seed={seed}",
                       *overrides])


def for_references(overrides: Sequence[str]) -> list[str]:
    """The overrides that also apply to the reference agents: all but the trained agent's own
    knobs (`agent.decay_init=1.0`, `++agent.dropout=0.1`), which a scripted one does not have,
    and the memory mode (`memory=none`, `memory.mode=solo`), which each reference sets itself."""
    def key(override: str) -> str:
        return override.lstrip("+~").split("=", 1)[0]
    return [o for o in overrides
            if not (key(o) in ("agent", "memory", "memory.mode") or key(o).startswith("agent."))]


def measure(agent_name: str, mode: str, seed: int, overrides: Sequence[str], own_layouts: bool = True,
            experiment: str = "memory", writers: str = "self") -> dict:
    """Evaluate a scripted agent (greedy); `own_layouts`: the seed draws its own held-out
    layouts (else the trained runs' own); `writers`: who plays the visits (evaluate())."""
    cfg = compose(agent_name, mode, seed, overrides, experiment)
    if own_layouts:
        cfg.eval = replace(cfg.eval, layout_seed=cfg.eval.layout_seed + seed)
    device = torch.device("cpu")
    agent = make_agent(cfg, cfg.maze.obs_shape, 5, device)
    return evaluate(agent, cfg, bank_factory(cfg, agent, cfg.maze.n_agents, device), device,
                    greedy=True, seed=seed, writers=writers)


def reference_results(experiment: str, seeds: Sequence[int], overrides: Sequence[str] = ()) -> dict[str, list[dict]]:
    """{"AGENT/MODE (ref)": one evaluation per seed} on the held-out layouts of runs of preset
    `experiment` with `overrides` (a trained agent's own knobs are dropped). Each evaluation
    carries its "seed"."""
    overrides = for_references(overrides)
    cfg = compose("random", "none", 0, overrides, experiment)
    run = lambda agent, mode, seed, writers="self": measure(agent, mode, seed, overrides, own_layouts=False,
                                                            experiment=experiment, writers=writers)
    out = {f"{agent}/{mode} (ref)": [run(agent, mode, s) for s in seeds] for agent, mode in REFERENCES}
    if cfg.eval.random_writers:
        own = out["trail_follower/shared (ref)"]
        control = [run("trail_follower", "shared", s, writers="random") for s in seeds]
        out["trail_follower/shared random writers (ref)"] = [
            {k: v for k, v in first.items() if k.startswith("visit_1/")}
            | {k: v for k, v in r.items() if k.startswith("newcomer/")} for first, r in zip(own, control)]
    out["random (ref)"] = [random_baseline(cfg, seed=s) for s in seeds]   # reads cfg's env and eval only
    for runs in out.values():
        for seed, result in zip(seeds, runs):
            result["seed"] = seed
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.references", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", choices=preset_names(), help="the experiment preset (configs/experiment/)")
    parser.add_argument("--seeds", nargs="+", type=int, required=True, help="the trained runs' seeds")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="the trained runs' Hydra overrides (an agent's own knobs are dropped)")
    args = parser.parse_args(argv)
    results = reference_results(args.preset, args.seeds, args.overrides)
    atomic_write_text(Path(args.out), json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
