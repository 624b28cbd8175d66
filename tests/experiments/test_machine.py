"""What a run records about its machine, and the switch that pins the CPU's kernel paths."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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
