"""Evaluate finished runs again, under their own evaluation protocol or a changed one.

    maze-eval RUN_DIR [RUN_DIR ...] [KEY=VALUE ...] [--writers WHO] [--memory BANK] [--watch N]
              [--checkpoint NAME] [--out DIR]

Each run's agent is loaded from its latest checkpoint (or `--checkpoint NAME`) and evaluated
as the run's own final evaluation was (`experiments.evaluate`: held-out layouts, visits,
newcomers, the run's seed and torch threads), with the `KEY=VALUE` overrides applied to the
run's saved config first:
`eval.*` (held-out layouts, episodes, visits, newcomers), `env.*` (the maze family: generator,
size, braid, landmarks), `memory.mode`; not `seed`, which also seeds the outcome keys' projection
(other held-out layouts: `eval.layout_seed`). With no override the numbers are the run's own
final evaluation (`results.json`'s eval/*), to the digit on the same machine.

Who plays the visits before the newcomers (`--writers`): the run's own agent (`self`), a random
policy (`random`), a scripted agent (`explorer`, `trail_follower`), or another run's agent (a
run directory: any agent with the same memory widths), so that the newcomers read a store that
someone else wrote on the same layouts. `--memory BANK` starts the evaluation from a saved bank
(a run's checkpoint bank, its own or another's) instead of empty stores. `--watch N` also draws
the first N held-out mazes: a GIF and a filmstrip of every play, and the stores each play
started from, on the map (experiments/watch.py). A multirun folder gives every run below it.

Written to `--out` (a new folder; the runs are left untouched): per run, its changed config and
its results, and `culture.json`, which it then prints as the main job's culture table (`python
-m analysis.culture --results`: per visit and for newcomers, IQM and 95% intervals over the runs
of each label, P(mode beats mode)). An override that the checkpoint cannot take (another view
size, so another observation shape; any `agent.*` knob) fails before anything is evaluated,
naming both values.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml
from omegaconf import OmegaConf

from experiments import machine
from experiments.build import bank_factory, make_agent
from experiments.checkpoint import CheckpointError, latest, load_state
from experiments.config import ConfigError, TrainConfig
from experiments.evaluate import WRITERS, evaluate, phase_names
from experiments.watch import Recorder
from fileio.atomic import atomic_write_text
from memory import MemoryBank
from memory.outcome import OutcomeCodec

# What the checkpoint fixed: not evaluation knobs. The seed too: outcome keys are a projection
# seeded by it (experiments/content.py), so another seed would give the agent keys it never saw.
FROZEN = ("agent", "algo", "total_steps", "n_mazes", "seed")


class RunError(ValueError):
    """A run cannot be evaluated as asked; the message names the run and the value."""


def find_run_dirs(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories (a config.yaml beside a checkpoints/ folder) given or found below `paths`."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise RunError(f"{path} is not a folder")
        runs = [path] if (path / "checkpoints").is_dir() else sorted(p.parent for p in path.rglob("checkpoints")
                                                                     if (p.parent / "config.yaml").is_file())
        if not runs:
            raise RunError(f"{path} holds no run with a checkpoint (config.yaml beside checkpoints/)")
        found += runs
    return sorted(set(found))


def changed_config(run_dir: Path, overrides: Sequence[str]) -> tuple[TrainConfig, TrainConfig]:
    """(the run's config as saved, the same with `overrides`), both validated."""
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    for override in overrides:
        key = override.split("=", 1)[0]
        if "=" not in override or not key:
            raise RunError(f"override {override!r} is not KEY=VALUE")
        if key.split(".")[0] in FROZEN:
            raise RunError(f"{key} cannot change at evaluation: the checkpoint of {run_dir} fixed it "
                           f"(evaluation takes eval.*, env.*, memory.mode)")
    merged = OmegaConf.merge(OmegaConf.create(saved), OmegaConf.from_dotlist(list(overrides)))
    try:
        return TrainConfig.from_dict(saved), TrainConfig.from_dict(OmegaConf.to_container(merged, resolve=True))
    except ConfigError as err:
        raise RunError(f"{run_dir}: {err}") from None


def check_obs_shape(run_dir: Path, saved: TrainConfig, cfg: TrainConfig) -> None:
    """A config whose observations the checkpoint's agent cannot read fails naming both shapes."""
    if tuple(cfg.maze.obs_shape) != tuple(saved.maze.obs_shape):
        raise RunError(f"{run_dir} was trained on observations of shape {tuple(saved.maze.obs_shape)}; the "
                       f"overrides give {tuple(cfg.maze.obs_shape)} (env.view_size, observe_position and "
                       "observe_last_action must stay as trained)")


def checkpoint_path(run_dir: Path, name: str | None) -> Path:
    """The run's checkpoint `name` (a folder of checkpoints/), or its latest when None."""
    if name is None:
        checkpoint = latest(run_dir)
        if checkpoint is None:
            raise RunError(f"{run_dir} has no checkpoint to evaluate")
        return checkpoint
    path = run_dir / "checkpoints" / name
    if not (path / "state.pt").is_file():
        kept = sorted(p.name for p in (run_dir / "checkpoints").glob("*") if (p / "state.pt").is_file())
        raise RunError(f"--checkpoint {name}: {run_dir} has no such checkpoint; it keeps {', '.join(kept) or 'none'}")
    return path


def load_agent(run_dir: Path, saved: TrainConfig, cfg: TrainConfig, device: torch.device,
               checkpoint: str | None = None):
    """(the run's agent (its saved agent config) for `cfg`'s observations with the weights of
    `checkpoint` (default: the latest), that checkpoint's name); `check_obs_shape` first."""
    check_obs_shape(run_dir, saved, cfg)
    try:
        path = checkpoint_path(run_dir, checkpoint)
        state = load_state(path, device)["agent"]
    except CheckpointError as err:
        raise RunError(str(err)) from None
    agent = make_agent(saved, cfg.maze.obs_shape, 5, device)
    agent.load_state_dict(state)
    return agent, path.name           # train mode, as the run's own evaluation saw it


# Reference writers by name: scripted agents (agents/scripted.py) built for the bank's widths.
SCRIPTED_WRITERS = {"explorer": "agents.ExplorerAgent", "trail_follower": "agents.TrailFollowerAgent"}


def writer_agent(writers: str, cfg: TrainConfig, agent, device: torch.device, note: bool = True):
    """"self" and "random" as they are; "explorer" or "trail_follower": that scripted agent; a run
    directory: that run's agent (any agent config, with `agent`'s memory widths and observation
    shape, else the error names both values)."""
    if writers in WRITERS:
        return writers
    if writers in SCRIPTED_WRITERS:
        spec = {"_target_": SCRIPTED_WRITERS[writers], "key_dim": agent.key_dim, "value_dim": agent.value_dim}
        return make_agent(dataclasses.replace(cfg, agent=spec, compile=False), cfg.maze.obs_shape, 5, device)
    run_dir = Path(writers)
    if not (run_dir / "config.yaml").is_file():
        raise RunError(f"--writers {writers}: not one of self, random, {', '.join(SCRIPTED_WRITERS)}, "
                       "or a run directory with a config.yaml")
    saved = TrainConfig.from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    writer = load_agent(run_dir, saved, cfg, device)[0]
    differ = [k for k in ("key_dim", "value_dim") if getattr(writer, k) != getattr(agent, k)]
    if differ:
        raise RunError(f"--writers {writers}: its memory widths differ from the evaluated run's: "
                       + ", ".join(f"agent.{k} ({getattr(writer, k)} there, {getattr(agent, k)} here)"
                                   for k in differ))
    if note and saved.memory.content.get("kind") == "outcome" and saved.seed != cfg.seed:
        # Outcome keys are a fixed random projection seeded by the run's seed (experiments/
        # content.py), so the store speaks the evaluated run's key space, not the writers'.
        print(f"maze-eval: note: the store's keys use the evaluated run's projection (seed {cfg.seed}); the "
              f"writers of {run_dir} trained with seed {saved.seed}'s and read the store less well than their own",
              file=sys.stderr)
    return writer


# What a starting bank must share with the bank the evaluation would make.
BANK_FIELDS = ("mode", "n_mazes", "n_agents", "key_dim", "value_dim", "normalize")


def starting_bank(path: str | Path, cfg: TrainConfig, agent, device: torch.device) -> MemoryBank:
    """The bank at `path`, to start `cfg`'s evaluation from: laid out as the bank the evaluation
    would make (BANK_FIELDS; else the error names both values), its counters reset, and kept
    whole through the evaluation's first layout change (scope "lifetime": each held-out maze
    keeps one layout for all its plays, so nothing else changes)."""
    if cfg.memory.mode == "none" or agent.key_dim == 0:
        raise RunError(f"--memory {path}: the evaluated run has no memory (memory.mode={cfg.memory.mode})")
    if cfg.memory.bank.get("scope", "episode") == "episode":
        raise RunError(f"--memory {path}: memory.bank.scope=episode empties the stores after every play; "
                       "a starting bank needs scope layout or lifetime")
    try:
        bank = MemoryBank.load(path, device)
    except (OSError, ValueError, KeyError) as err:
        raise RunError(f"--memory {path}: {err}") from None
    fresh = bank_factory(cfg, agent, cfg.maze.n_agents, device)(cfg.eval.episodes).config
    differ = [f for f in BANK_FIELDS if getattr(bank.config, f) != getattr(fresh, f)]
    if differ:
        raise RunError(f"--memory {path} does not fit this evaluation's bank: " + ", ".join(
            f"{f} {getattr(bank.config, f)!r} there, {getattr(fresh, f)!r} here" for f in differ)
            + " (n_mazes is eval.episodes)")
    bank.config = dataclasses.replace(bank.config, scope="lifetime")
    bank.reset_stats()
    return bank


def reevaluate(run_dir: Path, overrides: Sequence[str] = (), writers: str = "self", watch: int = 0,
               memory: str | Path | None = None, checkpoint: str | None = None) -> tuple[TrainConfig, dict, Recorder | None]:
    """(the changed config, the metrics, the recorder of the first `watch` mazes or None) of one
    run evaluated again, on the CPU with the run's own torch threads; `writers`: who plays the
    visits ("self", "random", a scripted writer's name or a run directory); `memory`: a saved
    bank to start from (`starting_bank`), else empty stores; `checkpoint`: which of the run's
    checkpoints (a folder name in checkpoints/; default the latest)."""
    saved, cfg = changed_config(run_dir, overrides)
    device = torch.device("cpu")
    agent, checkpoint = load_agent(run_dir, saved, cfg, device, checkpoint)
    writers = writer_agent(writers, cfg, agent, device)
    make_bank = bank_factory(cfg, agent, cfg.maze.n_agents, device)
    if memory is not None:
        loaded = starting_bank(memory, cfg, agent, device)
        make_bank = lambda n_mazes: loaded          # noqa: E731
    recorder = None
    if watch:
        codec = OutcomeCodec(5, cfg.maze.horizon) if cfg.memory.content.get("kind") == "outcome" else None
        recorder = Recorder(watch, phase_names(cfg.eval), codec)
        make_bank = lambda n_mazes, make=make_bank: recorder.attach(make(n_mazes))   # noqa: E731
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.torch_threads))
    try:
        metrics = evaluate(agent, cfg, make_bank, device,
                           greedy=cfg.eval.greedy, seed=cfg.seed, writers=writers, watch=recorder)
    finally:
        torch.set_num_threads(before)
    return cfg, {"checkpoint": checkpoint, **metrics}, recorder


def new_folder(path: Path) -> Path:
    """`path`, or `path_2`, `path_3`, ... if it exists (two evaluations in the same second)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}_{n}")
    return candidate


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="maze-eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="+", metavar="RUN_DIR or KEY=VALUE",
                        help="finished runs (or folders above them) and overrides of their configs")
    parser.add_argument("--writers", default="self", metavar="self|random|explorer|trail_follower|RUN_DIR",
                        help="who plays the visits: the agent, a random policy, a scripted agent, or another "
                             "run's agent (all but self need eval.newcomer=true)")
    parser.add_argument("--checkpoint", default=None, metavar="NAME",
                        help="which checkpoint of each run (a folder in its checkpoints/, such as "
                             "update_000240; default: the latest)")
    parser.add_argument("--memory", default=None, metavar="BANK",
                        help="a saved bank to start from instead of empty stores (a run's checkpoints/"
                             "<update>/memory.bank): the same memory mode, agents and widths, one store "
                             "set per held-out maze (eval.episodes = its n_mazes)")
    parser.add_argument("--watch", type=int, default=0, metavar="N",
                        help="also draw the first N held-out mazes of each run: a GIF and a filmstrip of "
                             "their plays, and their stores on the map (experiments/watch.py)")
    parser.add_argument("--out", default=None, help="a new folder for the results (default: evaluations/<time>)")
    args = parser.parse_intermixed_args(argv)     # runs, overrides and options in any order
    # A folder is a run (Hydra's run folders have '=' in their names); anything else an override.
    args.runs = [item for item in args.items if Path(item).is_dir()]
    args.overrides = [item for item in args.items if not Path(item).is_dir()]
    if not args.runs:
        parser.error("name at least one run directory")
    if args.watch < 0:
        parser.error(f"--watch {args.watch}: the number of mazes to draw must be >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out) if args.out else new_folder(Path("evaluations") / time.strftime("%Y-%m-%d_%H-%M-%S"))
    try:
        runs = find_run_dirs(args.runs)
        if out.exists() and any(out.iterdir()):
            raise RunError(f"--out {out} is not empty: results go to a new folder")
        for run_dir in runs:       # every run and override checked before any evaluation
            saved, cfg = changed_config(run_dir, args.overrides)
            agent = load_agent(run_dir, saved, cfg, torch.device("cpu"), args.checkpoint)[0]  # shape, weights
            if args.writers != "self" and not cfg.eval.newcomer:
                raise RunError(f"--writers {args.writers} needs eval.newcomer=true: the newcomers are the "
                               "agent's only plays")
            writer_agent(args.writers, cfg, agent, torch.device("cpu"), note=False)
            if args.memory is not None:
                starting_bank(args.memory, cfg, agent, torch.device("cpu"))
    except RunError as err:
        print(f"maze-eval: error: {err}", file=sys.stderr)
        return 2
    results: dict[str, list[dict]] = {}
    for i, run_dir in enumerate(runs):
        cfg, metrics, recorder = reevaluate(run_dir, args.overrides, args.writers, args.watch, args.memory,
                                            args.checkpoint)
        name = f"{i:02d}_{run_dir.name}"
        if recorder is not None:
            pictures = recorder.save(out / name / "watch")
            print(f"{run_dir}: {len(pictures)} pictures in {out / name / 'watch'}")
        atomic_write_text(out / name / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        atomic_write_text(out / name / "results.json", json.dumps(metrics, indent=2, sort_keys=True))
        label = f"{cfg.agent['_target_'].rsplit('.', 1)[-1]}/{cfg.memory.mode}"
        results.setdefault(label, []).append({**metrics, "seed": cfg.seed, "run": str(run_dir)})
        print(f"{run_dir}: success {metrics['success_rate']:.3f}, steps / shortest path "
              f"{metrics['steps_over_bfs']:.2f} ({label}, seed {cfg.seed})", flush=True)
    table = out / "culture.json"
    command = " ".join(["maze-eval", *(argv if argv is not None else sys.argv[1:])])
    atomic_write_text(table, json.dumps({**machine.provenance(command),
                                         "overrides": args.overrides, "writers": args.writers,
                                         "memory": args.memory,
                                         "seeds": sorted({r["seed"] for rs in results.values() for r in rs}),
                                         "results": results}, indent=2))
    print(f"\nResults: {out}; this table again: python -m analysis.culture --results {table}\n", flush=True)
    # analysis reads results from disk and nothing imports it (tests/test_architecture.py)
    return subprocess.call([sys.executable, "-m", "analysis.culture", "--results", str(table)])


if __name__ == "__main__":
    raise SystemExit(main())
