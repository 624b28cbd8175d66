"""Evaluation on held-out layouts, with the "second visit" protocol.

Each of `eval.episodes` mazes draws a layout from a stream no training run uses
(`eval.layout_seed`) and replays it `eval.visits` episodes in a row, with a fresh
memory bank at the start (so anything retrieved was written during this evaluation).
Recurrent state is reset at every episode, so visit k differs from visit 1 only by
what the long-term memory holds: this is where memory should show its value. With
scope `layout` or `lifetime`, visit k >= 2 is also the "generations" protocol: a new
generation (same weights, cleared recurrent state) enters a maze whose memory the
previous generations filled.
"""
from __future__ import annotations

import torch

from envs import BatchedMazeEnv
from experiments.rollout import Collector


@torch.no_grad()
def evaluate(agent, cfg, make_bank, device, greedy: bool = True, seed: int = 0) -> dict[str, float]:
    """Returns flat metrics: success_rate, steps_over_bfs, and per visit k (1-based)
    visit_k/success_rate, visit_k/episode_length, visit_k/steps_over_bfs."""
    ev = cfg.eval
    maze = cfg.maze.replace(layout_seed=ev.layout_seed, episodes_per_layout=ev.visits)
    env = BatchedMazeEnv(ev.episodes, maze, device=device, validate_actions=False)
    bank = make_bank(ev.episodes)
    generator = torch.Generator(device=device).manual_seed(seed)
    collector = Collector(env, agent, bank, cfg.memory.k, generator)
    collector.start(seed)
    finished = torch.zeros(ev.episodes, dtype=torch.int64, device=device)
    per_visit = [{"success": [], "length": [], "efficiency": []} for _ in range(ev.visits)]
    max_steps = ev.visits * maze.horizon + 1
    for _ in range(max_steps):
        _, _, info = collector.step(greedy=greedy)
        done = info["reset"]
        if done.any():
            for b in torch.nonzero(done & (finished < ev.visits)).flatten().tolist():
                k = int(finished[b])
                success = info["episode_success"][b]
                per_visit[k]["success"].append(success.float())
                per_visit[k]["length"].append(info["episode_length"][b].float())
                eff = info["episode_length"][b][success].float() / info["episode_start_distance"][b][success].clamp(min=1)
                per_visit[k]["efficiency"].append(eff)
            finished += done.long()
        if bool((finished >= ev.visits).all()):
            break
    metrics: dict[str, float] = {}
    cat = lambda xs: torch.cat(xs) if xs else torch.empty(0)  # noqa: E731
    mean = lambda x: float(x.mean()) if x.numel() else float("nan")  # noqa: E731
    for k, v in enumerate(per_visit, start=1):
        metrics[f"visit_{k}/success_rate"] = mean(cat(v["success"]))
        metrics[f"visit_{k}/episode_length"] = mean(cat(v["length"]))
        metrics[f"visit_{k}/steps_over_bfs"] = mean(cat(v["efficiency"]))
    metrics["success_rate"] = mean(cat([x for v in per_visit for x in v["success"]]))
    metrics["steps_over_bfs"] = mean(cat([x for v in per_visit for x in v["efficiency"]]))
    if bank is not None:
        from experiments.train import memory_scalars
        metrics.update(memory_scalars(bank.stats()))
    return metrics


def random_baseline(cfg, device="cpu", seed: int = 0) -> dict[str, float]:
    """The same evaluation protocol with `agents.RandomAgent`: the floor a trained agent must clear."""
    from agents import RandomAgent

    agent = RandomAgent(cfg.maze.obs_shape, 5).to(device)
    return evaluate(agent, cfg, lambda n_mazes: None, torch.device(device), greedy=False, seed=seed)
