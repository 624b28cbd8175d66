"""Environment speed: agent-steps per second, side by side, as ratios to MiniGrid.

    python benchmarks/env_speed.py [--seconds 3] [--rounds 3] [--threads 2] [--layout-workers 8]

Rows: MiniGrid (5x5 view, random actions, single agent); MazeEnv through the
PettingZoo API (4 agents); BatchedMazeEnv on the CPU at B=64 and B=1024 mazes x 4
agents; and on CUDA at B=4096 (or --cuda-batches) when a GPU is present. Every row uses random
actions and includes autoresets. Each row reports the best of --rounds measuring windows:
other load on a shared machine only ever slows a window down. Nothing is asserted: this
prints a table.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def rate(step, seconds: float, rounds: int, warmup: int = 5, sync=lambda: None) -> float:
    """Agent-steps per second of `step()`, which returns the agent-steps it took: the best
    of `rounds` windows that share `seconds`."""
    for _ in range(warmup):
        step()
    sync()
    best = 0.0
    for _ in range(rounds):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / rounds:
            done += step()
        sync()
        best = max(best, done / (time.perf_counter() - start))
    return best


def minigrid_rate(seconds: float, rounds: int) -> float:
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the MiniGrid envs)

    env = gym.make("MiniGrid-Empty-8x8-v0", agent_view_size=5)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def step():
        _, _, term, trunc, _ = env.step(int(rng.integers(3)))
        if term or trunc:
            env.reset()
        return 1
    return rate(step, seconds, rounds)


def pettingzoo_rate(seconds: float, rounds: int) -> float:
    from envs import MazeEnv

    env = MazeEnv(n_agents=4)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def step():
        if not env.agents:
            env.reset()
        acting = env.agents  # agents that reached the goal have left: count only those acting
        env.step({a: int(rng.integers(5)) for a in acting})
        return len(acting)
    return rate(step, seconds, rounds)


def batched_rate(n_mazes: int, device: str, seconds: float, rounds: int, workers: int = 0,
                 **options) -> float:
    from envs import BatchedMazeEnv

    env = BatchedMazeEnv(n_mazes, n_agents=4, device=device, validate_actions=False,
                         layout_workers=workers, **options)
    env.reset(seed=0)
    actions = torch.randint(0, 5, (64, n_mazes, 4), device=device)
    k = [0]

    def step():
        env.step(actions[k[0] % 64])
        k[0] += 1
        return n_mazes * 4
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    try:
        return rate(step, seconds, rounds, sync=sync)
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measuring windows per row, sharing --seconds; the best is reported")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--cuda-batches", type=int, nargs="+", default=[4096],
                        help="maze counts measured on CUDA when a GPU is present")
    parser.add_argument("--layout-workers", type=int, default=0,
                        help="also measure the batched rows with this many layout processes")
    parser.add_argument("--episodes-per-layout", type=int, default=1,
                        help="layout replays (1, the env default, makes a layout every episode)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds={args.rounds} must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, default maze "
          f"(4x4 cells, view 5, occlusion on), episodes_per_layout={args.episodes_per_layout}")
    print(f"{'env':<48} {'agent-steps/s':>15} {'x MiniGrid':>11}", flush=True)
    base = None

    def row(name: str, value: float) -> None:
        nonlocal base
        base = base or value
        print(f"{name:<48} {value:>15,.0f} {value / base:>11.1f}", flush=True)

    row("MiniGrid Empty-8x8, view 5 (baseline)", minigrid_rate(args.seconds, args.rounds))
    row("MazeEnv, PettingZoo API, N=4", pettingzoo_rate(args.seconds, args.rounds))
    batched = [(B, "cpu") for B in (64, 1024)]
    if torch.cuda.is_available():
        batched += [(B, "cuda") for B in args.cuda_batches]
    for workers in sorted({0, args.layout_workers}):
        for B, device in batched:
            label = f"BatchedMazeEnv {device} B={B} N=4" + (f", {workers} layout workers" if workers else "")
            row(label, batched_rate(B, device, args.seconds, args.rounds, workers,
                                    episodes_per_layout=args.episodes_per_layout))


if __name__ == "__main__":
    main()
