"""The main job: run the memory comparison preset, then print the comparison report.

    maze-experiment [experiment=PRESET] [extra Hydra overrides ...]

Runs `python -m experiments.train +experiment=compare` (memory none / solo / shared x
3 seeds, Hydra multirun on the local joblib launcher) with one progress line for the whole
sweep on stderr, then `analysis.compare` on the sweep directory, and prints where the
TensorBoard logs and the report are. `experiment=compare_ctm` runs the CTM's preset instead
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
MAIN_PRESET = "compare"   # configs/experiment/compare.yaml: the main job


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
        print_random_baseline(sweep_dir, report_dir)
        print(f"\nTensorBoard logs: tensorboard --logdir {sweep_dir}")  # compare printed the report's path
    return code


def split_preset(overrides: Sequence[str]) -> tuple[str, list[str]]:
    """(the experiment preset, the other overrides): `experiment=NAME` (or `+experiment=NAME`)
    among `overrides` names the preset, `compare` when none does."""
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
    """The main job's config for one run (`+experiment=compare` plus `overrides`), as Hydra
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


def print_random_baseline(sweep_dir: Path, report_dir: Path) -> None:
    """Evaluate a uniformly random policy with the runs' own evaluation protocol."""
    import json

    import yaml

    from fileio.atomic import atomic_write_text
    from experiments.config import TrainConfig
    from experiments.evaluate import random_baseline

    config = next(sweep_dir.rglob("config.yaml"), None)
    if config is None:
        return
    raw = yaml.safe_load(config.read_text())
    result = random_baseline(TrainConfig.from_dict(raw))
    atomic_write_text(report_dir / "random_baseline.json", json.dumps(result, indent=2, sort_keys=True))
    print("\nRandom policy, same evaluation protocol (held-out layouts):")
    for key in ("success_rate", "steps_over_bfs", "visit_1/success_rate", "visit_3/success_rate"):
        if key in result:
            print(f"  eval/{key:<28} {result[key]:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
