"""What a run records about its machine, the switch that pins the CPU's kernel paths, and the
package versions constraints.txt pins."""
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from experiments import machine

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env, portable", [
    ({}, False),
    ({"MKL_CBWR": "COMPATIBLE"}, False),
    ({"ATEN_CPU_CAPABILITY": "default"}, False),
    ({"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"}, True),
    ({"MKL_CBWR": "compatible", "ATEN_CPU_CAPABILITY": "DEFAULT"}, True),
    ({"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "default"}, False),
])
def test_portable_only_when_both_paths_are_pinned(monkeypatch, env, portable):
    for key in machine.PORTABLE:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert machine.portable_kernels() is portable
    assert machine.describe(torch.device("cpu"))["portable_kernels"] is portable


def test_portable_environment_takes_torch_off_the_vectorised_path():
    # The variables act at process start: a fresh process started with them runs torch's
    # unvectorised kernels, whatever this CPU offers, and says so in its record.
    code = ("import json, torch; from experiments import machine; "
            "print(json.dumps(machine.describe(torch.device('cpu'))))")
    env = {**os.environ, **machine.PORTABLE, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["torch_cpu_capability"] == "DEFAULT"
    assert info["portable_kernels"] is True
    assert info["kernel_env"] == machine.PORTABLE


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads /proc/cpuinfo")
def test_signature_agrees_with_torchs_own_detection():
    sets = machine.cpu_signature()["vector_sets"]
    assert set(sets) <= set(machine.VECTOR_SETS)
    capability = torch.backends.cpu.get_cpu_capability()  # torch reads the CPU its own way
    if capability.startswith("AVX512"):
        assert "avx512f" in sets
    if capability == "AVX2":
        assert "avx2" in sets


def test_record_starts_a_list_and_a_resume_appends(tmp_path):
    cpu = torch.device("cpu")
    first = machine.record(tmp_path, 0, cpu)
    assert [s["start_update"] for s in first] == [0]
    assert first[0]["torch"] == torch.__version__ and first[0]["device"] == "cpu"
    resumed = machine.record(tmp_path, 7, cpu)
    assert [s["start_update"] for s in resumed] == [0, 7]
    assert json.loads((tmp_path / "machine.json").read_text()) == resumed
    restarted = machine.record(tmp_path, 0, cpu)  # a fresh run in the same folder starts over
    assert [s["start_update"] for s in restarted] == [0]


def test_describe_lists_every_package_version():
    packages = machine.describe(torch.device("cpu"))["packages"]
    assert list(packages) == sorted(packages)
    assert packages["torch"] == torch.__version__
    assert packages["numpy"] == np.__version__
    assert packages["pyyaml"] == yaml.__version__  # pip's normalised name, not the metadata's "PyYAML"
    project = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert packages["shared-memory-mazes"] == project


def pins() -> dict[str, str]:
    """constraints.txt's `name==version` lines, by normalised name."""
    lines = [line for line in (ROOT / "constraints.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, _, version in (line.partition("==") for line in lines)}


def requirements_of(name: str) -> set[str]:
    """Every installed distribution `name` needs, directly or not, by normalised name."""
    found, todo = set(), [Requirement(name)]
    while todo:
        req = todo.pop()
        if canonicalize_name(req.name) in found:
            continue
        found.add(canonicalize_name(req.name))
        try:
            lines = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:  # a requirement this platform does not install
            continue
        for line in lines:
            dep = Requirement(line)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in req.extras or {""}):
                todo.append(dep)
    return found - {canonicalize_name(name)}


@pytest.mark.skipif((sys.platform, platform.machine()) != ("linux", "x86_64"),
                    reason="constraints.txt pins Linux x86-64's packages (faiss-gpu, its CUDA 12 libraries)")
def test_constraints_pin_exactly_the_installed_packages():
    # A fresh clone's setup installs with constraints.txt, so its packages match it exactly; a
    # mismatch means dependencies changed and constraints.txt went stale.
    pinned = pins()
    exempt = {"pip", "setuptools", "wheel", "shared-memory-mazes"}  # pip's own tools; this project
    if torch.version.cuda:  # the CUDA build's own stack, which torch's pinned version decides
        exempt |= requirements_of("torch") - pinned.keys()
    installed = {name: version for name, version in machine.packages().items() if name not in exempt}
    # A pin without a local tag matches the tagged build ("2.13.0" matches "2.13.0+cpu"), as in pip.
    differ = [f"{name} {version} (pinned {pinned[name]})" for name, version in installed.items()
              if name in pinned and version.split("+")[0] != pinned[name]]
    # Packages a developer added by hand may stay unpinned; what the project needs may not.
    unpinned = sorted((installed.keys() & requirements_of("shared-memory-mazes[dev]")) - pinned.keys())
    not_installed = sorted(pinned.keys() - installed.keys())
    assert not (differ or unpinned or not_installed), (
        f"constraints.txt and the installed packages differ: other version {differ}, not pinned "
        f"{unpinned}, pinned but not installed {not_installed}. If dependencies changed on purpose, "
        "regenerate it with the command in its header; else rebuild the venv: "
        "rm -r .venv && scripts/setup.sh")


def test_torch_pin_fits_both_builds():
    # A local tag (+cpu) would make setup refuse the CUDA build on a GPU machine.
    assert re.fullmatch(r"[0-9.]+", pins()["torch"]), pins()["torch"]


def test_setup_installs_with_the_constraints_unless_unpinned():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "-c constraints.txt" in setup and "MAZE_UNPINNED" in setup
