"""Do the first PPO updates flatten what the agent sees? Spread of its features over the first updates.

    python benchmarks/feature_spread.py                                  # ctm_small and lstm, seeds 0-5
    python benchmarks/feature_spread.py --agents ctm_small --set "algo.trunk_lr_scale=1"   # one rate

Each run is the main job's config (memory `none`, as in learning.py) with one agent and seed,
plus the `--set` overrides, trained for `--updates` updates in this process. Before the
updates at a few marks it reports, over every row and step of that update's rollout, the
spread across samples (standard deviation per feature, averaged over features) of

    encoder  the encoder's pooled vector (agents whose encoder pools)
    heads    the vector the actor head reads (the CTM's output synchronisation, the LSTM's
             hidden state)

and the critic's explained variance over the last five updates. A representation that no
longer depends on the observation shows as a spread near 0 with an explained variance near
0: the critic and the policy have nothing left to read. docs/learning.md has what it showed.
This is a script, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from experiments.build import build_run
from experiments.ppo import update
from experiments.train import env_seed
from learning import compose_config

MARKS = (0, 1, 3, 6, 10, 15, 20, 30, 40, 60)


def spread(batches: list[torch.Tensor]) -> float:
    x = torch.cat([b.flatten(0, -2) for b in batches])
    return float(x.std(0).mean())


def run_one(agent: str, seed: int, overrides: list[str], updates: int) -> dict:
    cfg = compose_config([f"agent={agent}", f"seed={seed}", f"torch_threads={torch.get_num_threads()}",
                          *overrides])
    run = build_run(cfg, torch.device("cpu"))
    net = run.agent
    seen: dict[str, list[torch.Tensor]] = {"encoder": [], "heads": []}

    def keep(name, x):
        if x is not None and not torch.is_grad_enabled():  # rollouts only, not the update's replay
            seen[name].append(x.detach())

    net.encoder.register_forward_hook(lambda m, i, out: keep("encoder", out[1]))
    net.actor.register_forward_pre_hook(lambda m, i: keep("heads", i[0]))
    run.collector.start(env_seed(cfg.seed, 0))  # as train() starts: these are its first updates
    marks = [m for m in MARKS if m < updates]
    rows = {name: [] for name in seen}
    evs = []
    for u in range(updates):
        for batch in seen.values():
            batch.clear()
        rollout = run.collector.collect(cfg.algo.num_steps)
        if u in marks:
            for name, batch in seen.items():
                rows[name].append(spread(batch) if batch else float("nan"))
        evs.append(update(net, run.optimizer, rollout, cfg.algo, run.shuffler)["explained_variance"])
    return {"marks": marks, **rows, "ev": float(np.nanmean(evs[-5:]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", nargs="+", default=["ctm_small", "lstm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(6)))
    parser.add_argument("--updates", type=int, default=16, help="PPO updates per run")
    parser.add_argument("--set", default="", metavar="OVERRIDES",
                        help="space-separated Hydra overrides applied to every run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    if args.updates < 2 or args.threads < 1:
        parser.error(f"--updates={args.updates} must be >= 2 and --threads={args.threads} >= 1")
    overrides = args.set.split()
    for agent in args.agents:  # a bad agent name or override fails here, before any run starts
        try:
            compose_config([f"agent={agent}", *overrides])
        except Exception as err:  # Hydra and our config checks raise several types
            parser.error(f"agent {agent!r} with overrides {overrides}: {err}")
    torch.set_num_threads(args.threads)
    print(f"overrides {overrides or 'none'}; spread across samples before update u; "
          f"ev = explained variance over the last 5 of {args.updates} updates")
    for agent in args.agents:
        runs = []
        for seed in args.seeds:
            r = run_one(agent, seed, overrides, args.updates)
            runs.append(r)
            if seed == args.seeds[0]:
                print(f"\n{agent:<12} {'':>8} " + " ".join(f"{'u' + str(m):>6}" for m in r["marks"]) + f" {'ev':>6}")
            for name in ("encoder", "heads"):
                print(f"  seed {seed:<5} {name:>8} " + " ".join(f"{x:6.3f}" for x in r[name])
                      + (f" {r['ev']:+6.2f}" if name == "heads" else ""), flush=True)
        for name in ("encoder", "heads"):
            median = np.median([r[name] for r in runs], axis=0)
            print(f"  {'median':<10} {name:>8} " + " ".join(f"{x:6.3f}" for x in median))


if __name__ == "__main__":
    main()
