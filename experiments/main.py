"""The main job: run the culture experiment, then print its comparison and culture tables.

    maze-experiment [experiment=PRESET] [extra Hydra overrides ...]

Runs `python -m experiments.train +experiment=culture` (the CTM on the memory task with memory
none / solo / shared x 3 seeds, Hydra multirun on the local joblib launcher) with one progress
line for the whole sweep on stderr, then `analysis.compare` on the sweep directory (curves and
final scores per mode). On a memory task (held-out layouts visited several times, or played
by newcomers) it then evaluates the reference agents with the same protocol
(experiments/references.py) and prints the culture table (`analysis.culture`: each visit and
the newcomers per mode, the controls, the references), saved as report/culture.json with the
commit, command and machine. `experiment=compare` runs the LSTM navigation comparison instead
(any preset of configs/experiment/ that sweeps can be named).
"""
from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from experiments.progress import SweepProgress

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MAIN_PRESET = "culture"   # configs/experiment/culture.yaml: the main job


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if {"-h", "--help"} & set(argv):
        print(usage())
        return 0
    preset, overrides = split_preset(argv)
    runs, steps_per_run = checked_sweep(overrides, preset)   # bad input stops here, before any run
    sweep_dir = Path("multirun") / time.strftime(f"{preset}_%Y-%m-%d_%H-%M-%S")
    train = [sys.executable, "-m", "experiments.train", f"+experiment={preset}",
             f"hydra.sweep.dir={sweep_dir}", *overrides]
    print("Running:", " ".join(train[1:]), flush=True)
    started = time.perf_counter()
    with SweepProgress(sweep_dir, runs, steps_per_run):
        code = subprocess.call(train)
    if code != 0:
        print(f"training failed with exit code {code}; see the logs under {sweep_dir}", file=sys.stderr)
        return code
    print(f"\nTraining finished in {(time.perf_counter() - started) / 60:.1f} min.\n", flush=True)
    report_dir = sweep_dir / "report"
    code = subprocess.call([sys.executable, "-m", "analysis.compare", str(sweep_dir),
                            "--out", str(report_dir)])
    if code == 0:
        code = print_baselines(sweep_dir, report_dir, preset, overrides)
        print(f"\nTensorBoard logs: tensorboard --logdir {sweep_dir}")  # compare printed the report's path
    return code


def split_preset(overrides: Sequence[str]) -> tuple[str, list[str]]:
    """(the experiment preset, the other overrides): `experiment=NAME` (or `+experiment=NAME`)
    among `overrides` names the preset, the main job's when none does."""
    presets = preset_names()
    chosen, rest = [], []
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+") == "experiment":
            chosen.append(value)
        else:
            rest.append(override)
    if len(chosen) > 1:
        raise SystemExit(f"maze-experiment: experiment given {len(chosen)} times ({', '.join(chosen)}); name one")
    if chosen and chosen[0] not in presets:
        raise SystemExit(f"maze-experiment: experiment={chosen[0]} is not a preset; one of: {', '.join(presets)}")
    return (chosen[0] if chosen else MAIN_PRESET), rest


def preset_names() -> list[str]:
    return sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))


def usage() -> str:
    return f"{__doc__.strip()}\n\nPresets: {', '.join(preset_names())}. Overrides are Hydra's (key=value)."


def checked_sweep(overrides: Sequence[str], preset: str) -> tuple[int, int]:
    """planned_sweep, with a bad override or value turned into a one-line error naming it."""
    from hydra.errors import HydraException

    from experiments.config import ConfigError

    try:
        planned = planned_sweep(overrides, preset)
        for run_overrides in one_value_each(overrides):
            run_config([f"+experiment={preset}", *run_overrides])
        return planned
    except (ConfigError, HydraException) as err:
        raise SystemExit(f"maze-experiment: {err}") from None


def one_value_each(overrides: Sequence[str]) -> list[list[str]]:
    """For each value of each sweep among `overrides`, the fixed overrides with that value
    (`n_mazes=1 seed=0,1` -> [n_mazes=1, seed=0], [n_mazes=1, seed=1]); launcher settings left out."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = [o for o in OverridesParser.create().parse_overrides(list(overrides)) if not o.is_hydra_override()]
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    return [[*fixed, f"{o.get_key_element()}={value}"] for o in parsed if o.is_sweep_override()
            for value in o.sweep_string_iterator()]


def main_job_config(overrides: Sequence[str] = ()):
    """The main job's config for one run (`+experiment=culture` plus `overrides`), as Hydra
    composes it and validated; benchmarks use it to measure exactly what the main job runs."""
    return run_config([f"+experiment={MAIN_PRESET}", *overrides])


def run_config(overrides: Sequence[str] = ()):
    """One run's config as `python -m experiments.train <overrides>` composes it, validated."""
    from omegaconf import OmegaConf

    from experiments.config import TrainConfig

    return TrainConfig.from_dict(OmegaConf.to_container(compose_train(overrides), resolve=True))


def compose_train(overrides: Sequence[str], with_hydra: bool = False):
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from experiments.config import ConfigError  # importing it registers train.yaml's schema

    with initialize_config_dir(str(CONFIGS), version_base=None):
        try:
            return compose("train", overrides=["run_dir=unused", *overrides], return_hydra_config=with_hydra)
        except ConfigCompositionException as err:  # its cause says what the key takes
            raise ConfigError(f"{err}: {err.__cause__}" if err.__cause__ else str(err)) from err


def planned_sweep(overrides: Sequence[str] = (), preset: str = MAIN_PRESET) -> tuple[int, int]:
    """(runs, agent-steps per run) of the sweep of experiment `preset` with `overrides`.

    Runs: the preset's sweep params, replaced or extended by sweeps among `overrides`,
    multiplied out as Hydra's basic sweeper does. Steps: one run's budget composed without the
    swept values (a run that starts reports its own total, so a swept budget corrects itself).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf, open_dict

    from experiments.config import TrainConfig

    parser = OverridesParser.create()
    given = parser.parse_overrides(list(overrides))
    fixed = [o.input_line for o in given if not o.is_sweep_override()]
    raw = compose_train([f"+experiment={preset}", *fixed], with_hydra=True)
    swept = [f"{key}={value}" for key, value in (raw.hydra.sweeper.get("params") or {}).items()]
    values = {}   # a later sweep of the same key replaces an earlier one, as in Hydra
    for o in parser.parse_overrides(swept) + [o for o in given if not o.is_hydra_override()]:
        values[o.get_key_element()] = len(list(o.sweep_string_iterator())) if o.is_sweep_override() else 1
    with open_dict(raw):
        del raw["hydra"]
    cfg = TrainConfig.from_dict(OmegaConf.to_container(raw, resolve=True))
    return math.prod(values.values()), cfg.num_updates * cfg.steps_per_update


def print_baselines(sweep_dir: Path, report_dir: Path, preset: str, overrides: Sequence[str]) -> int:
    """The random policy's evaluation under the runs' protocol; on a memory task, the culture
    table with the reference agents beside the runs (0, or the failed step's exit code)."""
    import yaml

    from experiments.config import TrainConfig

    finished = next(sweep_dir.rglob("results.json"), None)    # a run's own folder, not Hydra's .hydra/
    if finished is None:
        return 0
    cfg = TrainConfig.from_dict(yaml.safe_load((finished.parent / "config.yaml").read_text()))
    if cfg.eval.visits > 1 or cfg.eval.newcomer:
        return print_culture(sweep_dir, report_dir, preset, overrides)
    print_random_baseline(cfg, report_dir)
    return 0


def print_random_baseline(cfg, report_dir: Path) -> None:
    """Evaluate a uniformly random policy with the runs' own evaluation protocol."""
    import json

    from experiments.evaluate import random_baseline
    from fileio.atomic import atomic_write_text

    result = random_baseline(cfg)
    atomic_write_text(report_dir / "random_baseline.json", json.dumps(result, indent=2, sort_keys=True))
    print("\nRandom policy, same evaluation protocol (held-out layouts):")
    for key in ("success_rate", "steps_over_bfs", "visit_1/success_rate", "visit_3/success_rate"):
        if key in result:
            print(f"  eval/{key:<28} {result[key]:.3f}")


def print_culture(sweep_dir: Path, report_dir: Path, preset: str, overrides: Sequence[str]) -> int:
    """Evaluate the reference agents on the runs' held-out layouts, one per seed of the sweep,
    then print the culture table and save it with what produced it (report/culture.json)."""
    import json

    from experiments import machine
    from fileio.atomic import atomic_write_text

    seeds = sorted({run_seed(p.parent) for p in sweep_dir.rglob("results.json")})
    print(f"\nReference agents on the same held-out layouts (seeds {seeds}) ...", flush=True)
    references, table = report_dir / "references.json", report_dir / "culture.json"
    code = subprocess.call([sys.executable, "-m", "experiments.references", preset, "--seeds", *map(str, seeds),
                            "--out", str(references), "--overrides", *fixed_overrides(overrides)])
    if code == 0:
        code = subprocess.call([sys.executable, "-m", "analysis.culture", str(sweep_dir),
                                "--references", str(references), "--json", str(table)])
    if code == 0:
        command = ["maze-experiment", *([f"experiment={preset}"] if preset != MAIN_PRESET else []), *overrides]
        provenance = {"experiment": preset, "overrides": list(overrides),
                      **machine.provenance(" ".join(command), runs=sweep_dir)}
        atomic_write_text(table, json.dumps(provenance | json.loads(table.read_text()), indent=2))
    return code


def run_seed(run_dir: Path) -> int:
    import yaml

    return int(yaml.safe_load((run_dir / "config.yaml").read_text())["seed"])


def fixed_overrides(overrides: Sequence[str]) -> list[str]:
    """`overrides` without sweeps (`seed=0,1,2`) and launcher settings (`hydra.*`): what every
    run of the sweep shares."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [o.input_line for o in parsed if not (o.is_sweep_override() or o.is_hydra_override())]


if __name__ == "__main__":
    raise SystemExit(main())
