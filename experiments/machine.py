"""The machine a run trains on, as far as it decides the run's floating-point results.

A seed and a config train the same network bit for bit only on the same kernel paths, and on
a CPU those are picked at start-up from the processor: torch's vectorised kernels by its
instruction sets (reported as torch's "CPU capability"), the BLAS (Intel MKL in torch's x86
wheels) by its instruction sets and vendor. Two environment variables pin both (PORTABLE):
torch's unvectorised kernels, the same compiled code on every x86-64 CPU, and MKL's branch
that it documents as giving the same results on every x86 processor. With the same packages
and thread count a run should then train the same network on any such machine, somewhat
slower; checked so far on one CPU model only (docs/learning.md, "Which CPU"). Each run records
its machine (run_dir/machine.json), with every installed package's version, so that a number
which does not reproduce can be traced; constraints.txt pins the versions setup installs.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import time
from importlib import metadata
from pathlib import Path

import torch

from fileio.atomic import atomic_write_text

# Read by MKL and by torch when they first run, so they must be set before the process starts.
PORTABLE = {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"}


# The instruction sets that decide which kernels the libraries dispatch to.
VECTOR_SETS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")


def cpuinfo() -> dict[str, str]:
    """The first processor's entries of /proc/cpuinfo (empty where the OS has none)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def cpu_model() -> str:
    """The processor's name ("AMD EPYC 7B13", ...) where the OS reports one."""
    return cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_signature() -> dict:
    """Vendor, family/model/stepping and vector instruction sets: a virtual machine may hide
    the model's name, not these."""
    info = cpuinfo()
    flags = set(info.get("flags", "").split())
    return {"vendor": info.get("vendor_id"),
            "family_model_stepping": "/".join(info.get(k, "?") for k in ("cpu family", "model", "stepping")),
            "vector_sets": [s for s in VECTOR_SETS if s in flags]}


def summary() -> str:
    """One line naming the processor: "AMD EPYC (AuthenticAMD 25/1/1; sse4_2 avx avx2 fma), 2 cores"."""
    sig = cpu_signature()
    return (f"{cpu_model()} ({sig['vendor']} {sig['family_model_stepping']}; "
            f"{' '.join(sig['vector_sets'])}), {os.cpu_count()} cores")


def portable_kernels() -> bool:
    """Whether this process was started with the portable kernel paths (PORTABLE)."""
    return all(os.environ.get(k, "").lower() == v.lower() for k, v in PORTABLE.items())


def blas() -> str:
    """The BLAS torch was built with, as its build summary names it."""
    for line in torch.__config__.show().splitlines():
        if "Math Kernel Library" in line or "OpenBLAS" in line:
            return line.strip(" -")
    return "unknown"


def packages() -> dict[str, str]:
    """Every installed distribution's version, this project included, by name as pip normalises
    it ("pyyaml", "stable-baselines3"), sorted. Where a name is installed twice (the source
    tree's egg-info beside the editable install) the first on sys.path wins, as for import."""
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        versions.setdefault(name, dist.version)
    return dict(sorted(versions.items()))


def commit() -> str | None:
    """The project's git commit, with "+changes" when the tree differs from it; None outside a
    git checkout (an installed copy) or without git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if changed else "")


def provenance(command: str, runs: Path | None = None) -> dict:
    """What produced a saved result: the command, the commit, the date, and the machine the
    runs under `runs` recorded (their first machine.json entry; this process's machine without
    its package list when `runs` is None)."""
    if runs is not None:
        ran_on = json.loads(next(Path(runs).rglob("machine.json")).read_text())[0]
        ran_on.pop("start_update", None)
    else:
        ran_on = {k: v for k, v in describe(torch.device("cpu")).items() if k != "packages"}
    return {"command": command, "commit": commit(), "date": time.strftime("%Y-%m-%d"), "machine": ran_on}


def describe(device: torch.device) -> dict:
    """What decides this process's rounding: processor, kernel paths, library versions."""
    info = {"cpu": cpu_model(), **cpu_signature(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "blas": blas(),
            "torch_threads": torch.get_num_threads(),
            "kernel_env": {k: os.environ.get(k) for k in PORTABLE},
            "portable_kernels": portable_kernels(), "device": str(device), "commit": commit(),
            "packages": packages()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def record(run_dir: Path, start_update: int, device: torch.device) -> list[dict]:
    """Append this start of the run to run_dir/machine.json: a resumed run lists every machine."""
    path = Path(run_dir) / "machine.json"
    starts = json.loads(path.read_text()) if path.exists() and start_update > 0 else []
    starts.append({"start_update": start_update, **describe(device)})
    atomic_write_text(path, json.dumps(starts, indent=2))
    return starts
