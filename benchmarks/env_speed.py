"""Environment speed: agent-steps per second, side by side, as ratios to MiniGrid.

    python benchmarks/env_speed.py [--seconds 3] [--threads 2]

Rows: MiniGrid (5x5 view, random actions, single agent); MazeEnv through the
PettingZoo API (4 agents); BatchedMazeEnv on the CPU at B=64 and B=1024 mazes x 4
agents; and on CUDA at B=4096 when a GPU is present. Every row uses random
actions and includes autoresets. Nothing is asserted: this prints a table.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def rate(step, agents_per_step: int, seconds: float, warmup: int = 5, sync=lambda: None) -> float:
    for _ in range(warmup):
        step()
    sync()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    sync()
    return n * agents_per_step / (time.perf_counter() - start)


def minigrid_rate(seconds: float) -> float:
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the MiniGrid envs)

    env = gym.make("MiniGrid-Empty-8x8-v0", agent_view_size=5)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def step():
        _, _, term, trunc, _ = env.step(int(rng.integers(3)))
        if term or trunc:
            env.reset()
    return rate(step, 1, seconds)


def pettingzoo_rate(seconds: float) -> float:
    from envs import MazeEnv

    env = MazeEnv(n_agents=4)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    live = [4]

    def step():
        if not env.agents:
            env.reset()
        live[0] = len(env.agents)
        env.step({a: int(rng.integers(5)) for a in env.agents})
    # Count the agents that acted; close to 4 on average with random actions.
    return rate(step, 4, seconds)


def batched_rate(n_mazes: int, device: str, seconds: float) -> float:
    from envs import BatchedMazeEnv

    env = BatchedMazeEnv(n_mazes, n_agents=4, device=device, validate_actions=False)
    env.reset(seed=0)
    actions = torch.randint(0, 5, (64, n_mazes, 4), device=device)
    k = [0]

    def step():
        env.step(actions[k[0] % 64])
        k[0] += 1
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    return rate(step, n_mazes * 4, seconds, sync=sync)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [("MiniGrid Empty-8x8, view 5 (baseline)", minigrid_rate(args.seconds)),
            ("MazeEnv, PettingZoo API, N=4", pettingzoo_rate(args.seconds)),
            ("BatchedMazeEnv cpu B=64 N=4", batched_rate(64, "cpu", args.seconds)),
            ("BatchedMazeEnv cpu B=1024 N=4", batched_rate(1024, "cpu", args.seconds))]
    if torch.cuda.is_available():
        rows.append(("BatchedMazeEnv cuda B=4096 N=4", batched_rate(4096, "cuda", args.seconds)))
    base = rows[0][1]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"default maze (4x4 cells, view 5, occlusion on)")
    print(f"{'env':<40} {'agent-steps/s':>15} {'x MiniGrid':>11}")
    for name, value in rows:
        print(f"{name:<40} {value:>15,.0f} {value / base:>11.1f}")


if __name__ == "__main__":
    main()
