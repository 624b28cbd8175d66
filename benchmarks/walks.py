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
from experiments.build import bank_factory, make_agent, make_env
from experiments.config import TrainConfig
from experiments.evaluate import evaluate
from experiments.main import run_config
from experiments.reevaluate import RunError, load_agent

CPU = torch.device("cpu")
# (column, fewest moves, most moves) since the agent last stood on the square it moves onto.
# Always even on a grid; 2 is "back".
RETURNS = (("ret 4", 4, 4), ("ret 6-8", 6, 8), ("ret 10-16", 10, 16), ("ret 18+", 18, 10**9))
COLUMNS = ("success", "steps/bfs", "stay", "bump", "again", "ahead", "back", *(c for c, _, _ in RETURNS))


class Tally:
    """An `evaluate` watcher: counts, per agent and episode, what each step did (COLUMNS)."""

    def __init__(self):
        self.count = dict.fromkeys(["steps", "moves", "stay", "bump", "after_bump", "again", "ahead",
                                    "back", *(c for c, _, _ in RETURNS)], 0)
        self.last_stood = None  # (B, N, H, W): moves_so_far when the agent last stood there, or -1

    def start(self, pos: torch.Tensor, grid: tuple[int, int]) -> None:
        B, N = pos.shape[:2]
        self.maze_of, self.agent_of = torch.meshgrid(torch.arange(B), torch.arange(N), indexing="ij")
        self.moves_so_far = torch.zeros((B, N), dtype=torch.int64)      # moves made this episode
        self.last_stood = torch.full((B, N, *grid), -1, dtype=torch.int64)
        self.bumped = torch.zeros((B, N), dtype=torch.bool)
        self.last_move = torch.full((B, N), STAY, dtype=torch.int64)    # the action of the last move
        self.stand(pos, torch.ones((B, N), dtype=torch.bool))

    def at(self, pos: torch.Tensor) -> torch.Tensor:
        return self.last_stood[self.maze_of, self.agent_of, pos[..., 0], pos[..., 1]]

    def stand(self, pos: torch.Tensor, where: torch.Tensor) -> None:
        index = self.maze_of[where], self.agent_of[where], pos[..., 0][where], pos[..., 1][where]
        self.last_stood[index] = self.moves_so_far[where]

    def __call__(self, before, step, info, env) -> None:
        (start, acting), pos, reset = before, env.world.pos, info["reset"]
        if self.last_stood is None:
            self.start(start, env.world.code.shape[-2:])
        count = self.count
        acted = acting & ~reset[:, None]          # a maze's last step shows its next spawn
        action = step["action"].view(acted.shape)
        moved = acted & (pos != start).any(-1)
        self.moves_so_far += moved.long()
        ago = self.moves_so_far - self.at(pos)
        returned = moved & (self.at(pos) >= 0)
        bump = acted & (action != STAY) & ~moved
        count["steps"] += int(acted.sum())
        count["moves"] += int(moved.sum())
        count["stay"] += int((acted & (action == STAY)).sum())
        count["after_bump"] += int((acted & self.bumped).sum())
        count["again"] += int((bump & self.bumped).sum())
        count["bump"] += int(bump.sum())
        count["ahead"] += int((bump & (action == self.last_move)).sum())
        count["back"] += int((returned & (ago == 2)).sum())
        for column, low, high in RETURNS:
            count[column] += int((returned & (ago >= low) & (ago <= high)).sum())
        self.bumped, self.last_move = bump, torch.where(moved, action, self.last_move)
        self.stand(pos, moved)
        if reset.any():
            self.moves_so_far[reset], self.last_stood[reset] = 0, -1
            self.bumped[reset], self.last_move[reset] = False, STAY
            self.stand(pos, reset[:, None].expand_as(acted))

    def shares(self) -> dict[str, float]:
        count = self.count
        per_move = {c: count[c] / max(count["moves"], 1) for c in ("back", *(c for c, _, _ in RETURNS))}
        return {"stay": count["stay"] / max(count["steps"], 1), "bump": count["bump"] / max(count["steps"], 1),
                "again": count["again"] / max(count["after_bump"], 1),
                "ahead": count["ahead"] / max(count["bump"], 1), **per_move}


def walk(agent, cfg, greedy: bool) -> dict[str, float]:
    """Plays `cfg`'s evaluation once with `agent` (`evaluate`, as in training); returns COLUMNS."""
    tally = Tally()
    metrics = evaluate(agent, cfg, bank_factory(cfg, agent, cfg.maze.n_agents, CPU), CPU,
                       greedy=greedy, seed=cfg.seed, watch=tally)
    return {"success": metrics["success_rate"], "steps/bfs": metrics["steps_over_bfs"], **tally.shares()}


def built(cfg: TrainConfig):
    env = make_env(cfg.maze, 1, CPU)
    return make_agent(cfg, env.observation_shape, env.n_actions, CPU)


def trained(run_dir: Path):
    """The config a run saved, and its agent at the run's latest checkpoint."""
    saved = TrainConfig.from_dict(OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True))
    try:
        agent, _ = load_agent(run_dir, saved, saved, CPU)
    except RunError as err:
        raise SystemExit(str(err)) from None
    return saved, agent.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path, help="finished run directories")
    parser.add_argument("--reference", nargs="*", default=[],
                        help="scripted agents (configs/agent/) to play on the navigation comparison's held-out layouts")
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
            references.append(run_config(["+experiment=compare", "memory=none", f"agent={name}",
                                          f"seed={args.seed}"]))
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
