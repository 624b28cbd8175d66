"""A short random-policy rollout: prints a maze and what random agents achieve in it.

    maze-demo [--mazes 64] [--steps 512] [--seed 0] [--device cpu]

This is the floor every trained agent must clear: its success rate and path
efficiency (BFS distance from the spawn / steps taken, successful episodes only).
"""
from __future__ import annotations

import argparse
import time

import torch
from tqdm import tqdm

from envs import BatchedMazeEnv, MazeConfig, MazeEnv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mazes", type=int, default=64, help="mazes stepped in parallel")
    parser.add_argument("--steps", type=int, default=512, help="steps per maze")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", type=int, default=4, help="maze height in cells")
    parser.add_argument("--cols", type=int, default=4, help="maze width in cells")
    parser.add_argument("--agents", type=int, default=4)
    args = parser.parse_args(argv)
    if args.mazes < 1 or args.steps < 1:
        parser.error(f"--mazes={args.mazes} and --steps={args.steps} must both be >= 1")
    config = MazeConfig(n_agents=args.agents, rows=args.rows, cols=args.cols, braid=0.2, n_landmarks=4)

    preview = MazeEnv(config, render_mode="ansi")
    preview.reset(seed=args.seed)
    print(f"Maze 0 of seed {args.seed} ({config.rows}x{config.cols} cells, {config.n_agents} agents "
          f"0-9, goal G, landmarks a-z):\n{preview.render()}\n")

    env = BatchedMazeEnv(args.mazes, config, device=args.device)
    env.reset(seed=args.seed)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    episodes = successes = 0
    returns, efficiency = [], []
    start = time.perf_counter()
    for _ in tqdm(range(args.steps), desc="random rollout", unit="step"):
        actions = torch.randint(0, env.n_actions, (args.mazes, config.n_agents), generator=gen, device=args.device)
        _, _, _, _, info = env.step(actions)
        done = info["reset"]
        if done.any():
            success = info["episode_success"][done]
            episodes += success.numel()
            successes += int(success.sum())
            returns.append(info["episode_return"][done].flatten())
            eff = info["episode_start_distance"][done][success] / info["episode_length"][done][success]
            efficiency.append(eff.float())
    elapsed = time.perf_counter() - start
    mean = lambda xs: float(torch.cat(xs).mean()) if xs and torch.cat(xs).numel() else float("nan")  # noqa: E731
    print(f"\nRandom policy over {args.mazes} mazes x {args.steps} steps:")
    print(f"  agent-episodes finished   {episodes}")
    print(f"  success rate              {successes / max(episodes, 1):.3f}")
    print(f"  mean episodic return      {mean(returns):.3f}")
    print(f"  path efficiency (BFS/steps, successes) {mean(efficiency):.3f}")
    print(f"  speed                     {args.mazes * config.n_agents * args.steps / elapsed:,.0f} agent-steps/s")


if __name__ == "__main__":
    main()
