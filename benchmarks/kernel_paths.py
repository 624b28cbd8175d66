"""Which agents' training depends on the CPU's kernel paths: a reproducibility probe.

    python benchmarks/kernel_paths.py                       # lstm and ctm_small, 6 updates each
    python benchmarks/kernel_paths.py --agents ctm_small --updates 12

Trains each agent for a few updates of the main job (memory `none`, seed 0, one torch thread
unless `--threads`) in a fresh process per setting, and prints a fingerprint of the trained
parameters. The settings force the library paths a different CPU would take by itself:

- ATEN_CPU_CAPABILITY: torch's own vectorised kernels (elementwise ops, reductions, norms)
  are compiled for several instruction sets and picked at start-up from the CPU's flags
  (default = no vectorisation, avx2, avx512).
- MKL_CBWR: the BLAS (matrix products) picks its code path from the CPU too (its AVX2 branch
  only on Intel CPUs); COMPATIBLE forces the one path every x86 CPU runs.

A fingerprint that changes with a setting means the agent's training is decided, bit for bit,
by that library path, so the same seed on a CPU with other instruction sets (an AVX-512
machine against an AVX2 one) trains a different network. This is a script, not a test.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments import machine

SETTINGS = {
    "as found": {},
    "ATEN default": {"ATEN_CPU_CAPABILITY": "default"},
    "ATEN avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "MKL avx2": {"MKL_CBWR": "AVX2"},
    "MKL compatible": {"MKL_CBWR": "COMPATIBLE"},
    "portable": machine.PORTABLE,
}

CHILD = """
import sys, torch
from learning import compose_config
from experiments.train import train
from experiments import checkpoint
from experiments.fingerprint import parameter_digest
agent, updates, threads, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cfg = compose_config([f"agent={agent}", "seed=0", f"torch_threads={threads}", f"run_dir={out}",
                      f"total_steps={2048 * updates}", "eval.every=0", "eval.episodes=8",
                      "log.images_every=0", "log.checkpoint_every=0"])
train(cfg)
state = torch.load(checkpoint.latest(out) / "state.pt", weights_only=True)["agent"]
print("FINGERPRINT", parameter_digest(state).hexdigest()[:16], torch.backends.cpu.get_cpu_capability())
"""


def fingerprint(agent: str, updates: int, threads: int, extra_env: dict[str, str]) -> str:
    env = {**os.environ, **extra_env}
    here = Path(__file__).resolve().parent
    env["PYTHONPATH"] = os.pathsep.join([str(here.parent), str(here), env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kernel_paths_") as out:
        done = subprocess.run([sys.executable, "-c", CHILD, agent, str(updates), str(threads), out],
                              env=env, capture_output=True, text=True)
    lines = [l for l in done.stdout.splitlines() if l.startswith("FINGERPRINT")]
    if done.returncode or not lines:
        return f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
    _, digest, capability = lines[-1].split()
    return f"{digest}  torch path {capability:<7} {time.perf_counter() - start:6.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", nargs="+", default=["lstm", "ctm_small"])
    parser.add_argument("--updates", type=int, default=6, help="PPO updates per run (>= 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (>= 1)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args()
    if args.updates < 1 or args.threads < 1:
        parser.error(f"--updates={args.updates} and --threads={args.threads} must be >= 1")
    # Fingerprints belong to this machine: name it.
    print(f"machine: {machine.summary()}; {args.updates} updates per run, seed 0, "
          f"{args.threads} torch thread(s)", flush=True)
    for agent in args.agents:
        for name in args.settings:
            result = fingerprint(agent, args.updates, args.threads, SETTINGS[name])
            print(f"{agent:<10} {name:<16} {result}", flush=True)


if __name__ == "__main__":
    main()
