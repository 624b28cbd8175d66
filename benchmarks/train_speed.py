"""End-to-end training speed and where the time goes.

    python benchmarks/train_speed.py [--updates 3] [--device cpu] [--threads 1]
    python benchmarks/train_speed.py --also "n_mazes=8 algo.num_steps=100 algo.update_epochs=4"
    python benchmarks/train_speed.py --preset gpu --agents ctm --profile
    python benchmarks/train_speed.py --memories none --also "compile=true" --also "n_mazes=256"

For the CTM and the LSTM (the main job's configs, or another preset's with `--preset`) with
memory none / solo / shared (or the modes `--memories` names), runs a warm-up update and then
`--updates` measured PPO updates (collect + learn), and prints agent-steps per second with the
share of time spent in the env, the memory bank, the acting forward pass and the PPO update.
Ratios are against the first row measured in the same run. Each `--also` adds a row for the
first agent and memory mode with further Hydra overrides, to compare another setup in one run.
`--profile` then profiles one more update of the last row with torch.profiler and prints the
operations that took the most time. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Sequence

import torch

from experiments.build import build_run
from experiments.config import TrainConfig
from experiments.main import MAIN_PRESET, run_config
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


def preset_config(preset: str, agent: str, memory: str, device: str, extra: Sequence[str] = ()) -> TrainConfig:
    """One run of experiment `preset` with one agent and memory mode (and `extra` overrides)."""
    return run_config([f"+experiment={preset}", f"agent={agent}", f"memory={memory}", f"device={device}", *extra])


def measure(cfg: TrainConfig, updates: int) -> dict[str, float]:
    dev = torch.device(cfg.device)
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


def profile_update(cfg: TrainConfig, rows: int = 15) -> None:
    """One warm-up update, then one collect + update under torch.profiler: the top operations."""
    from torch.profiler import ProfilerActivity, profile

    run = build_run(cfg, torch.device(cfg.device))
    run.collector.start(cfg.seed)
    cuda = torch.device(cfg.device).type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    for profiled in (False, True):
        with profile(activities=activities) if profiled else contextlib.nullcontext() as prof:
            rollout = run.collector.collect(cfg.algo.num_steps)
            update(run.agent, run.optimizer, rollout, cfg.algo, run.shuffler)
            if cuda:
                torch.cuda.synchronize()
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=rows), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3, help="measured updates per row")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--preset", default=MAIN_PRESET,
                        help="experiment preset (configs/experiment/) whose run config is measured")
    parser.add_argument("--agents", nargs="+", default=["ctm_small", "lstm"], help="agent configs to measure")
    parser.add_argument("--memories", nargs="+", default=["none", "solo", "shared"], choices=["none", "solo", "shared"],
                        help="memory modes to measure for each agent")
    parser.add_argument("--also", action="append", default=[], metavar="OVERRIDES",
                        help="space-separated Hydra overrides for an extra row: first agent and memory mode (repeatable)")
    parser.add_argument("--profile", action="store_true", help="then profile one update of the last row")
    args = parser.parse_args()
    if args.updates < 1:
        parser.error(f"--updates={args.updates}: measure at least 1 update")
    torch.set_num_threads(args.threads)
    rows = [(agent, memory, []) for agent in args.agents for memory in args.memories]
    rows += [(args.agents[0], args.memories[0], extra.split()) for extra in args.also]
    configs = [preset_config(args.preset, agent, memory, args.device, extra) for agent, memory, extra in rows]
    print(f"device {args.device}, {torch.get_num_threads()} thread(s), preset {args.preset} "
          f"({configs[0].steps_per_update:,} agent-steps an update), {args.updates} updates per row")
    print(f"{'agent':<10} {'memory':<7} {'agent-steps/s':>13} {'x first':>10} "
          f"{'env':>6} {'memory':>7} {'forward':>8} {'update':>7}", flush=True)
    base = None
    for (agent, memory, extra), cfg in zip(rows, configs):
        r = measure(cfg, args.updates)
        base = base or r["sps"]
        print(f"{agent:<10} {memory:<7} {r['sps']:>13,.0f} {r['sps'] / base:>10.2f} {r['env']:>6.1%} "
              f"{r['memory']:>7.1%} {r['forward']:>8.1%} {r['update']:>7.1%}  {' '.join(extra)}", flush=True)
    if args.profile:
        profile_update(configs[-1])


if __name__ == "__main__":
    main()
