"""How far trained agents get on the memory task, per memory mode, beside the reference agents.

    python benchmarks/memory_learning.py                            # lstm x none/solo/shared x seeds 0-2
    python benchmarks/memory_learning.py --experiment memory_small --seeds 0 1 2 3 4
    python benchmarks/memory_learning.py --agents lstm ctm_small --modes none shared --jobs 2
    python benchmarks/memory_learning.py --set "total_steps=614400"
    python benchmarks/memory_learning.py --report runs.json         # the tables of a saved --json
    python benchmarks/memory_learning.py --report a.json b.json=lstm+prior   # several, pooled or renamed

Each run is the memory task's config (`+experiment=memory`, or `memory_small` with
`--experiment`: outcome-labelled content, layouts replayed during training, the main job's PPO
settings at half its budget) with one agent, memory mode and seed, plus the `--set` overrides. Runs go
`--jobs` at a time, one torch thread each (`--threads`). The reference agents
(agents/scripted.py: the explorer without long-term memory, the trail follower per mode) and the
random policy are evaluated on the same held-out layouts under the same protocol: visits 1..K
by the same agents, then the newcomers. Printed, with 95% stratified-bootstrap intervals over
runs: the interquartile mean (IQM) of success and of steps / shortest path per phase; what
memory changes within a run (each run's later phases minus its first visit); and between modes,
the probability that a run of one mode beats a run of another. With `eval.random_writers=true`
each run is also evaluated with a random policy playing the visits (the newcomers read what it
wrote), printed as "MODE random writers": the run's own first visit, on an empty store, and its
newcomers on the random policy's store. This is a script, not a test: it asserts nothing.
"""
from __future__ import annotations

import json
import shlex
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from analysis.culture import tables
from experiments import machine
from experiments.evaluate import phase_names
from experiments.references import REFERENCES, compose, reference_results, for_references
from fileio.atomic import atomic_write_text
from memory_ceiling import add_experiment_option
from training_cli import machine_line, parse, parser_with_run_options


def train_one(agent: str, mode: str, seed: int, overrides: list[str], threads: int, out: str,
              experiment: str) -> dict:
    from experiments.train import train

    run_dir = Path(out) / f"{agent}_{mode}_seed{seed}"
    cfg = compose(agent, mode, seed, [f"torch_threads={threads}", f"run_dir={run_dir}",
                                      "log.images_every=0", *overrides], experiment)
    start = time.perf_counter()
    result = train(cfg)
    final = {k.removeprefix("eval/"): v for k, v in result.items() if k.startswith("eval/")}
    final.update({k.removeprefix("eval_"): v for k, v in result.items() if k.startswith("eval_random_writers/")})
    final["minutes"] = (time.perf_counter() - start) / 60
    final["seed"] = seed
    return final


def load_reports(specs: list[str]) -> tuple[dict, dict[str, list[dict]]]:
    """(the first file, the runs of every file pooled) from `--report` arguments. A trained
    agent/mode's runs are pooled across files (one run per seed); a reference's evaluations are
    kept per seed, from the first file that has the seed."""
    results: dict[str, list[dict]] = {}
    references: dict[str, dict[int, dict]] = {}
    first = None
    for spec in specs:
        path, _, label = spec.partition("=")
        saved = json.loads(Path(path).read_text())
        first = first or saved
        for key, runs in saved["results"].items():
            if "(ref)" in key:
                for seed, run in zip(saved["seeds"], runs):
                    references.setdefault(key, {}).setdefault(seed, run)
                continue
            agent, _, rest = key.partition("/")
            pooled = results.setdefault(f"{label or agent}/{rest}", [])
            seeds = {r["seed"] for r in pooled}
            if seeds & {r["seed"] for r in runs}:
                raise ValueError(f"{path}: {key} has a seed another file has too ({sorted(seeds)})")
            pooled.extend(runs)
    for runs in results.values():
        runs.sort(key=lambda r: r["seed"])
    results.update({key: [by_seed[s] for s in sorted(by_seed)] for key, by_seed in references.items()})
    return first, results


def main() -> None:
    parser = parser_with_run_options(__doc__)
    parser.add_argument("--agents", nargs="+", default=["lstm"], help="trained agents (configs/agent/)")
    parser.add_argument("--modes", nargs="+", default=["none", "solo", "shared"])
    parser.add_argument("--report", nargs="+", default=None, metavar="JSON[=LABEL]",
                        help="print the tables of files written by --json, and train nothing; runs of "
                             "one agent and mode in several files are pooled, and LABEL renames a "
                             "file's agents (`prior.json=ctm+prior`)")
    add_experiment_option(parser)
    args = parse(parser)
    if args.report:
        try:
            saved, results = load_reports(args.report)
            cfg = compose("random", "none", 0, for_references(saved["overrides"]),
                          saved.get("experiment", "memory"))
        except (OSError, ValueError, KeyError, TypeError) as err:
            parser.error(f"--report {' '.join(args.report)}: not files this script wrote with --json ({err!r})")
        print(tables(results, phase_names(cfg.eval)))
        return
    overrides, experiment = args.overrides, args.experiment
    scripted = for_references(overrides)  # the scripted references' overrides
    try:  # a bad name or override fails here, before any run starts
        cfg = compose(args.agents[0], args.modes[0], 0, overrides, experiment)
        for agent in args.agents:
            for mode in args.modes:
                compose(agent, mode, 0, overrides, experiment)
        for agent, mode in REFERENCES:
            compose(agent, mode, 0, scripted, experiment)
    except Exception as err:  # Hydra and our config checks raise several types
        parser.error(str(err))
    out = args.out or tempfile.mkdtemp(prefix="memory_learning_")
    maze = cfg.maze
    print(f"memory task ({experiment}): {maze.rows}x{maze.cols} cells, max_steps {maze.horizon}, "
          f"{cfg.total_steps} agent-steps per run; agents {args.agents}, modes {args.modes}, seeds {args.seeds}; "
          f"overrides {overrides or 'none'}; {args.jobs} job(s) x {args.threads} thread(s); runs in {out}\n"
          f"{machine_line(args)}", flush=True)
    results: dict[str, list[dict]] = {}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_one, a, m, s, overrides, args.threads, out, experiment): (a, m, s)
                   for s in args.seeds for a in args.agents for m in args.modes}
        for future in as_completed(futures):
            agent, mode, seed = futures[future]
            final = future.result()
            results.setdefault(f"{agent}/{mode}", []).append(final)
            print(f"  {agent}/{mode} seed {seed}: success {final['success_rate']:.3f}, newcomer "
                  f"{final.get('newcomer/success_rate', float('nan')):.3f} ({final['minutes']:.1f} min)", flush=True)
    for runs in results.values():
        runs.sort(key=lambda r: r["seed"])
    results.update(reference_results(experiment, args.seeds, scripted))
    print(tables(results, phase_names(cfg.eval)))
    if args.json:   # with what produced the numbers: commit, command, date, the runs' machine
        provenance = machine.provenance(shlex.join(["python", *sys.argv]), runs=Path(out))
        atomic_write_text(Path(args.json), json.dumps({**provenance, "experiment": experiment, "overrides": overrides,
                                                       "seeds": args.seeds, "results": results}, indent=2))


if __name__ == "__main__":
    main()
