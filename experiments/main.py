"""The main job: run the memory comparison preset, then print the comparison report.

    maze-experiment [extra Hydra overrides ...]

Runs `python -m experiments.train +experiment=compare` (memory none / solo / shared x
3 seeds, Hydra multirun on the local joblib launcher), then `experiments.compare` on
the sweep directory, and prints where the TensorBoard logs and the report are.
"""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def main(argv: list[str] | None = None) -> int:
    overrides = list(sys.argv[1:] if argv is None else argv)
    sweep_dir = Path("multirun") / time.strftime("compare_%Y-%m-%d_%H-%M-%S")
    train = [sys.executable, "-m", "experiments.train", "+experiment=compare",
             f"hydra.sweep.dir={sweep_dir}", *overrides]
    print("Running:", " ".join(train[1:]), flush=True)
    started = time.perf_counter()
    code = subprocess.call(train)
    if code != 0:
        print(f"training failed with exit code {code}; see the logs under {sweep_dir}", file=sys.stderr)
        return code
    print(f"\nTraining finished in {(time.perf_counter() - started) / 60:.1f} min.\n", flush=True)
    report_dir = sweep_dir / "report"
    code = subprocess.call([sys.executable, "-m", "experiments.compare", str(sweep_dir),
                            "--out", str(report_dir)])
    if code == 0:
        print_random_baseline(sweep_dir, report_dir)
        print(f"\nTensorBoard logs: tensorboard --logdir {sweep_dir}")
        print(f"Report:           {report_dir / 'report.md'} (plots beside it)")
    return code


def main_job_config(overrides: Sequence[str] = ()):
    """The main job's config for one run (`+experiment=compare` plus `overrides`), as Hydra
    composes it and validated; benchmarks use it to measure exactly what the main job runs."""
    return run_config(["+experiment=compare", *overrides])


def run_config(overrides: Sequence[str] = ()):
    """One run's config as `python -m experiments.train <overrides>` composes it, validated."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from experiments.config import TrainConfig

    with initialize_config_dir(str(CONFIGS), version_base=None):
        raw = compose("train", overrides=["run_dir=unused", *overrides])
    return TrainConfig.from_dict(OmegaConf.to_container(raw, resolve=True))


def print_random_baseline(sweep_dir: Path, report_dir: Path) -> None:
    """Evaluate a uniformly random policy with the runs' own evaluation protocol."""
    import json

    import yaml

    from experiments.checkpoint import atomic_write_text
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
