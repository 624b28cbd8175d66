"""Where a trained agent's extra steps go: walls it walks into, squares it comes back to.

    python benchmarks/walks.py RUN_DIR [RUN_DIR ...]          # runs of benchmarks/learning.py
    python benchmarks/walks.py RUN_DIR --reference explorer   # beside the scripted explorer

Each RUN_DIR is a finished training run; its latest checkpoint plays the held-out layouts of
the run's own evaluation (same mazes, visits and seed, so success and steps / shortest path
match its eval/* numbers), with sampled and with greedy actions. Per agent and episode:

    stay       share of steps with the stay action
    bump       share of steps that walked into a wall (every wall next to the agent is in view)
    again      share of the steps right after a bump that bump again
    ahead      share of bumps in the direction of the agent's last move: it kept going after
               the corridor turned or ended, as if it had not seen the wall
    back       share of moves onto the square left one move before: a turn back
    ret A-B    share of moves onto a square last stood on A to B moves before: a retreat out
               of a dead end (which every explorer of a tree maze must make) or a loop

An agent that forgets where it has been walks into explored corridors again: long returns
(`ret 18+`) well above the `--reference explorer`'s (which maps every square it has seen) say
so; bumps say it does not act on what it sees. This is a script, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from omegaconf import OmegaConf

from envs.rules import STAY
from experiments.build import bank_factory, build_collector, make_agent, make_env
from experiments.checkpoint import latest, load_state
from experiments.config import TrainConfig
from experiments.main import main_job_config

CPU = torch.device("cpu")
# (column, fewest moves, most moves) since the agent last stood on the square it moves onto.
# Always even on a grid; 2 is "back".
RETURNS = (("ret 4", 4, 4), ("ret 6-8", 6, 8), ("ret 10-16", 10, 16), ("ret 18+", 18, 10**9))
COLUMNS = ("success", "steps/bfs", "stay", "bump", "again", "ahead", "back", *(c for c, _, _ in RETURNS))


def walk(agent, cfg, greedy: bool) -> dict[str, float]:
    """Plays `cfg`'s evaluation episodes once with `agent`; returns COLUMNS."""
    ev = cfg.eval
    maze = cfg.maze.replace(layout_seed=ev.layout_seed, episodes_per_layout=ev.visits)
    env = make_env(maze, ev.episodes, CPU)
    bank = bank_factory(cfg, agent, env.n_agents, CPU)(ev.episodes)
    collector = build_collector(cfg, env, agent, bank, torch.Generator().manual_seed(cfg.seed))
    collector.start(cfg.seed)
    world = env.world
    B, N = world.pos.shape[:2]
    every = torch.ones((B, N), dtype=torch.bool)
    maze_of, agent_of = torch.meshgrid(torch.arange(B), torch.arange(N), indexing="ij")
    moves_so_far = torch.zeros((B, N), dtype=torch.int64)                 # moves made this episode
    last_stood = torch.full((B, N, *world.code.shape[-2:]), -1, dtype=torch.int64)  # at moves_so_far

    def square(x: torch.Tensor) -> torch.Tensor:
        return x[maze_of, agent_of, world.pos[..., 0], world.pos[..., 1]]

    def stand(where: torch.Tensor) -> None:
        last_stood[maze_of[where], agent_of[where], world.pos[..., 0][where], world.pos[..., 1][where]] = \
            moves_so_far[where]

    stand(every)
    count = dict.fromkeys(["steps", "moves", "stay", "bump", "after_bump", "again", "ahead", "back",
                           *(c for c, _, _ in RETURNS)], 0)
    bumped = torch.zeros((B, N), dtype=torch.bool)
    last_move = torch.full((B, N), STAY, dtype=torch.int64)               # the action of the last move
    finished = torch.zeros(B, dtype=torch.int64)
    success, efficiency = [], []
    for _ in range(ev.visits * maze.horizon + 1):
        before, acting = world.pos.clone(), collector.alive.clone()
        step, _, info = collector.step(greedy=greedy)
        reset = info["reset"]
        acted = acting & ~reset[:, None]          # a maze's last step shows its next spawn
        action = step["action"].view(B, N)
        moved = acted & (world.pos != before).any(-1)
        moves_so_far += moved.long()
        ago = moves_so_far - square(last_stood)
        returned = moved & (square(last_stood) >= 0)
        count["steps"] += int(acted.sum())
        count["moves"] += int(moved.sum())
        count["stay"] += int((acted & (action == STAY)).sum())
        count["after_bump"] += int((acted & bumped).sum())
        new_bump = acted & (action != STAY) & ~moved
        count["again"] += int((new_bump & bumped).sum())
        count["bump"] += int(new_bump.sum())
        count["ahead"] += int((new_bump & (action == last_move)).sum())
        count["back"] += int((returned & (ago == 2)).sum())
        for column, low, high in RETURNS:
            count[column] += int((returned & (ago >= low) & (ago <= high)).sum())
        bumped = new_bump
        last_move = torch.where(moved, action, last_move)
        stand(moved)
        if reset.any():
            for b in torch.nonzero(reset & (finished < ev.visits)).flatten().tolist():
                ok = info["episode_success"][b]
                success.append(ok.float())
                efficiency.append(info["episode_length"][b][ok].float()
                                  / info["episode_start_distance"][b][ok].clamp(min=1))
            finished += reset.long()
            moves_so_far[reset], last_stood[reset], bumped[reset], last_move[reset] = 0, -1, False, STAY
            stand(reset[:, None].expand(B, N))
        if bool((finished >= ev.visits).all()):
            break
    efficiency = torch.cat(efficiency)
    per_move = {c: count[c] / max(count["moves"], 1) for c in ("back", *(c for c, _, _ in RETURNS))}
    return {"success": float(torch.cat(success).mean()),
            "steps/bfs": float(efficiency.mean()) if efficiency.numel() else float("nan"),
            "stay": count["stay"] / max(count["steps"], 1), "bump": count["bump"] / max(count["steps"], 1),
            "again": count["again"] / max(count["after_bump"], 1),
            "ahead": count["ahead"] / max(count["bump"], 1), **per_move}


def built(cfg: TrainConfig):
    env = make_env(cfg.maze, 1, CPU)
    return make_agent(cfg, env.observation_shape, env.n_actions, CPU)


def trained(run_dir: Path):
    """The config a run saved, and its agent at the run's latest checkpoint."""
    checkpoint = latest(run_dir)
    if checkpoint is None:
        raise SystemExit(f"{run_dir} has no checkpoint to play")
    cfg = TrainConfig.from_dict(OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True))
    agent = built(cfg)
    agent.load_state_dict(load_state(checkpoint, CPU)["agent"])
    return cfg, agent.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path, help="finished run directories")
    parser.add_argument("--reference", nargs="*", default=[],
                        help="scripted agents (configs/agent/) to play on the main job's held-out layouts")
    parser.add_argument("--seed", type=int, default=0, help="the references' seed (the eval's action sampling)")
    args = parser.parse_args()
    if not args.runs and not args.reference:
        parser.error("nothing to play: name run directories and/or --reference agents")
    for run_dir in args.runs:
        if not (run_dir / "config.yaml").is_file():
            parser.error(f"{run_dir} is not a run directory: it has no config.yaml")
    references = []
    for name in args.reference:
        try:
            references.append(main_job_config(["memory=none", f"agent={name}", f"seed={args.seed}"]))
        except Exception as err:  # Hydra and our config checks raise several types
            parser.error(f"--reference {name!r}: {err}")
    torch.set_num_threads(1)
    plays = [(str(d), *trained(d)) for d in args.runs]
    plays += [(name, cfg, built(cfg)) for name, cfg in zip(args.reference, references)]
    print(f"{'run':<40} {'actions':<8} " + " ".join(f"{c:>9}" for c in COLUMNS))
    for label, cfg, agent in plays:
        for greedy in (False, True):
            row = walk(agent, cfg, greedy)
            print(f"{label[-40:]:<40} {'greedy' if greedy else 'sampled':<8} "
                  + " ".join(f"{row[c]:>9.3f}" for c in COLUMNS), flush=True)


if __name__ == "__main__":
    main()
