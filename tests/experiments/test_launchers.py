"""The cluster route, run on this machine: a sweep through submitit's local executor, with the
resources the SLURM launcher asks for."""
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from experiments.main import compose_train

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
RESOURCES = CONFIGS / "hydra" / "launcher" / "submitit" / "resources.yaml"


def launcher(name: str) -> dict:
    # Unresolved: the submitit folder names the sweep dir, which holds the time of composing.
    return OmegaConf.to_container(compose_train([f"hydra/launcher={name}"], with_hydra=True).hydra.launcher)


def test_slurm_local_differs_from_slurm_only_in_the_launcher():
    slurm, local = launcher("slurm"), launcher("slurm_local")
    assert slurm["_target_"].endswith("SlurmLauncher") and local["_target_"].endswith("LocalLauncher")
    resources = yaml.safe_load(RESOURCES.read_text())
    assert resources and all(slurm[key] == local[key] == value for key, value in resources.items())
    # Every setting the local executor has, it shares with the SLURM launcher.
    shared = set(local) - {"_target_"}
    assert {key: local[key] for key in shared} == {key: slurm[key] for key in shared}


def test_smoke_sweep_through_submitit_local(tmp_path):
    sweep = tmp_path / "sweep"
    budget = 1024
    command = [sys.executable, "-m", "experiments.train", "--multirun", "+experiment=smoke",
               "hydra/launcher=slurm_local", f"hydra.sweep.dir={sweep}", "seed=0,1",
               # the smoke preset, trimmed: a short budget, evaluation and checkpoint at the end only
               f"total_steps={budget}", "eval.every=0", "eval.episodes=2", "log.images_every=0",
               "log.checkpoint_every=0", "env.rows=3", "env.cols=3", "torch_threads=1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Submitit 'local' sweep output dir" in done.stdout + done.stderr

    results = sorted(sweep.glob("*/results.json"))
    assert len(results) == 2, sorted(p.name for p in sweep.iterdir())
    seeds = set()
    for path in results:
        final = json.loads(path.read_text())
        assert final["global_step"] == budget and "eval/success_rate" in final
        seeds.add(yaml.safe_load((path.parent / "config.yaml").read_text())["seed"])
        progress = json.loads((path.parent / "progress.json").read_text())
        assert progress == {"steps": budget, "total": budget}
    assert seeds == {0, 1}
    # Each run went through a submitit job: its pickled result and logs are in .submitit/.
    assert len(list(sweep.glob(".submitit/*/*_result.pkl"))) == 2
