"""Fingerprints of the shipped presets: a few updates of each, hashed, to catch drift.

    python -m experiments.fingerprint            # compare with the stored fingerprints (exit 1 on drift)
    python -m experiments.fingerprint --write    # store this commit's (a change that moves results)
    python -m experiments.fingerprint --write culture   # store one preset's, keep the others

Each shipped experiment preset is trained for `UPDATES` PPO updates once per memory mode, at
seed 0 with one torch thread on the CPU, with the evaluation cut to a few layouts (and the GPU
preset to fewer mazes: CHEAPER). A fingerprint is the SHA-256 of the trained parameters
(bitwise) and of the run's final metrics, timings left out.
Any change that moves a preset's results moves its fingerprint: then the results the README
and docs report for that preset (`MEASURES`) are stale until measured again, and the
fingerprint file is updated on purpose, in the same commit.

Bit-for-bit equality needs the same kernel paths, so the check runs in a child process
started with the portable ones (experiments/machine.py, PORTABLE), with the packages that
constraints.txt pins; the stored file names the torch it was made with.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from experiments import machine

ROOT = Path(__file__).resolve().parent.parent
STORED = ROOT / "tests" / "fingerprints.json"
UPDATES = 2
MODES = ("none", "solo", "shared")
SHOWN = ("eval/success_rate", "eval/steps_over_bfs", "memory/size")   # stored beside the hash
TIMING = ("charts/SPS",)                                              # never part of a fingerprint
# The GPU preset's 256 mazes of the full CTM cost a CPU half a minute an update, and a visit of
# its 8x8 mazes 512 steps: fewer mazes and one visit run the same code at a fraction of the cost.
CHEAPER = {"gpu": ["n_mazes=16", "eval.visits=1"]}

# What each preset's fingerprint stands for: the results to measure again when it moves.
MEASURES = {
    "compare": "docs/results.md 'the LSTM navigation comparison', 'where each agent stands' and "
               "'which CPU' (benchmarks/learning.py); docs/learning.md",
    "compare_ctm": "docs/results.md 'the CTM's navigation comparison'; docs/learning.md",
    "culture": "README 'What the main job found' (the main job); docs/memory.md 'Trained agents at the "
               "main job's PPO settings'",
    "memory": "docs/results.md 'the memory task' (5x5 cells); docs/memory.md",
    "memory_small": "docs/results.md 'the memory task' (3x3 cells); docs/memory.md 'Trained agents on memory_small'",
    "gpu": "docs/speed.md (the GPU preset); docs/learning.md 'The GPU preset's CTM'",
    "smoke": "nothing reported (the tests' tiny run)",
}


def presets() -> list[str]:
    from experiments.main import preset_names

    return preset_names()


def parameter_digest(state: dict):
    """SHA-256 over a state dict's names and raw bytes, in name order (update it with more)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return digest


def overrides(preset: str, mode: str, run_dir: str) -> list[str]:
    """A few updates of `preset` with memory `mode`: same model, optimiser and task, CPU, seed 0."""
    from experiments.main import run_config

    cheaper = [f"+experiment={preset}", *CHEAPER.get(preset, [])]
    steps = run_config(cheaper).steps_per_update
    return [*cheaper, f"memory={mode}", "seed=0", "torch_threads=1", "device=cpu", "compile=false",
            f"total_steps={steps * UPDATES}", "eval.every=0", "eval.episodes=2", "eval.both=false",
            "log.images_every=0", "log.video_every=0", "log.checkpoint_every=0", "log.progress=false",
            f"run_dir={run_dir}"]


def fingerprint(preset: str, mode: str) -> dict:
    """Train `preset` with memory `mode` for UPDATES updates; hash its parameters and metrics."""
    import torch

    from experiments import checkpoint
    from experiments.main import run_config
    from experiments.train import train

    with tempfile.TemporaryDirectory() as run_dir:
        final = train(run_config(overrides(preset, mode, run_dir)))
        params = torch.load(checkpoint.latest(run_dir) / "state.pt", weights_only=True)["agent"]
    digest = parameter_digest(params)
    metrics = {k: v for k, v in final.items() if k not in TIMING}
    digest.update(json.dumps(metrics, sort_keys=True).encode())
    return {"sha256": digest.hexdigest()[:16], "metrics": {k: round(final[k], 6) for k in SHOWN if k in final}}


def compute(names: list[str]) -> dict:
    """Fingerprints of `names` x MODES in this process, with what decides their rounding."""
    import torch

    return {"torch": torch.__version__, "updates": UPDATES, "portable_kernels": machine.portable_kernels(),
            "presets": {p: {m: fingerprint(p, m) for m in MODES} for p in names}}


def compute_portable(names: list[str]) -> dict:
    """`compute` in a child process started with the portable kernel paths and one thread."""
    env = {**os.environ, **machine.PORTABLE, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fingerprints.json"
        subprocess.run([sys.executable, "-m", "experiments.fingerprint", "--child", str(out), *names],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def drift(stored: dict, found: dict) -> list[str]:
    """One line per preset and mode whose fingerprint differs, naming what to measure again."""
    lines = []
    for preset, modes in found["presets"].items():
        for mode, fp in modes.items():
            old = stored["presets"].get(preset, {}).get(mode)
            if old is None or old["sha256"] != fp["sha256"]:
                lines.append(f"{preset}/{mode}: {old and old['sha256']} -> {fp['sha256']} "
                             f"(metrics {old and old['metrics']} -> {fp['metrics']}); "
                             f"measure again: {MEASURES.get(preset, 'its results')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"store the fingerprints in {STORED.relative_to(ROOT)}")
    parser.add_argument("--child", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("presets", nargs="*", help="presets to fingerprint (default: every shipped one)")
    args = parser.parse_args(argv)
    names = args.presets or presets()
    unknown = sorted(set(names) - set(presets()))
    if unknown:
        parser.error(f"unknown preset(s) {unknown}; shipped: {presets()}")
    if args.child:
        from fileio.atomic import atomic_write_text

        atomic_write_text(Path(args.child), json.dumps(compute(names), indent=2, sort_keys=True) + "\n")
        return 0
    found = compute_portable(names)
    if args.write:   # named presets replace theirs in the stored file; the others are kept
        from fileio.atomic import atomic_write_text

        if args.presets and STORED.exists():
            stored = json.loads(STORED.read_text())
            if {k: v for k, v in stored.items() if k != "presets"} != {k: v for k, v in found.items() if k != "presets"}:
                parser.error("the stored fingerprints were made with another torch or setting; "
                             "write them all (no preset names)")
            found["presets"] = {**stored["presets"], **found["presets"]}
        atomic_write_text(STORED, json.dumps(found, indent=2, sort_keys=True) + "\n")
        print(f"wrote {STORED.relative_to(ROOT)}: {len(names)} presets x {len(MODES)} memory modes")
        return 0
    lines = drift(json.loads(STORED.read_text()), found)
    print("\n".join(lines) if lines else "fingerprints match")
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
