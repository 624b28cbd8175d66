"""End-to-end training speed and where the time goes.

    python benchmarks/train_speed.py [--updates 3] [--device cpu] [--threads 1]
    python benchmarks/train_speed.py --also "n_mazes=8 algo.num_steps=100 algo.update_epochs=4"

For the CTM and the LSTM (the main job's configs) with memory none / solo / shared, runs a
warm-up update and then `--updates` measured PPO updates (collect + learn), and prints
agent-steps per second with the share of time spent in the env, the memory bank, the
acting forward pass and the PPO update. Ratios are against the CTM without memory measured
in the same run. Each `--also` adds a CTM row (memory none) with further Hydra overrides, to
compare another setup against the main job's in one run. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import torch

from experiments.build import build_run
from experiments.config import TrainConfig
from experiments.main import main_job_config
from experiments.ppo import update


class Clock:
    """Wraps methods of an object so their wall time adds up in one bucket."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, obj, names, bucket: str) -> None:
        for name in names:
            fn = getattr(obj, name)

            def timed(*args, _fn=fn, **kwargs):
                start = time.perf_counter()
                try:
                    return _fn(*args, **kwargs)
                finally:
                    self.seconds[bucket] = self.seconds.get(bucket, 0.0) + time.perf_counter() - start
            setattr(obj, name, timed)


def main_config(agent: str, memory: str, device: str, extra: Sequence[str] = ()) -> TrainConfig:
    """The main job's config with one agent and memory mode (and `extra` overrides)."""
    return main_job_config([f"agent={agent}", f"memory={memory}", f"device={device}", *extra])


def measure(agent_name: str, memory: str, device: str, updates: int, extra: Sequence[str] = ()) -> dict[str, float]:
    cfg = main_config(agent_name, memory, device, extra)
    dev = torch.device(device)
    run = build_run(cfg, dev)       # the parts a training run is made of, optimiser included
    collector, bank = run.collector, run.bank
    collector.start(cfg.seed)
    clock = Clock()
    clock.wrap(run.env, ["step"], "env")
    if bank is not None:
        clock.wrap(bank, ["read", "write", "on_reset"], "memory")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    total = {"collect": 0.0, "update": 0.0}
    for u in range(updates + 1):
        if u == 1:
            clock.seconds.clear()
            total = {"collect": 0.0, "update": 0.0}
        t0 = time.perf_counter()
        rollout = collector.collect(cfg.algo.num_steps)
        sync()
        t1 = time.perf_counter()
        update(run.agent, run.optimizer, rollout, cfg.algo, run.shuffler)
        sync()
        total["collect"] += t1 - t0
        total["update"] += time.perf_counter() - t1
    wall = total["collect"] + total["update"]
    env_s, mem_s = clock.seconds.get("env", 0.0), clock.seconds.get("memory", 0.0)
    return {"sps": cfg.steps_per_update * updates / wall, "env": env_s / wall, "memory": mem_s / wall,
            "forward": (total["collect"] - env_s - mem_s) / wall, "update": total["update"] / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3, help="measured updates per row")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--also", action="append", default=[], metavar="OVERRIDES",
                        help="space-separated Hydra overrides for an extra ctm_small/none row (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device {args.device}, {torch.get_num_threads()} thread(s), main-job config, {args.updates} updates per row")
    print(f"{'agent':<10} {'memory':<7} {'agent-steps/s':>13} {'x ctm/none':>10} "
          f"{'env':>6} {'memory':>7} {'forward':>8} {'update':>7}", flush=True)
    rows = [(agent, memory, []) for agent in ("ctm_small", "lstm") for memory in ("none", "solo", "shared")]
    rows += [("ctm_small", "none", extra.split()) for extra in args.also]
    base = None
    for agent, memory, extra in rows:
        r = measure(agent, memory, args.device, args.updates, extra)
        base = base or r["sps"]
        print(f"{agent:<10} {memory:<7} {r['sps']:>13,.0f} {r['sps'] / base:>10.2f} {r['env']:>6.1%} "
              f"{r['memory']:>7.1%} {r['forward']:>8.1%} {r['update']:>7.1%}  {' '.join(extra)}", flush=True)


if __name__ == "__main__":
    main()
