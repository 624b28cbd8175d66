#!/usr/bin/env bash
# Create .venv and install the project with its dev extra.
#
# Torch is installed first and on its own: on a machine without an NVIDIA GPU we
# pin the CPU build so that pip never pulls a multi-GB CUDA wheel; with a GPU,
# pip's default (CUDA) build is what we want.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_CPU_VERSION="${TORCH_CPU_VERSION:-2.13.0}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --quiet)

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        "${PIP[@]}" torch
    else
        "${PIP[@]}" "torch==${TORCH_CPU_VERSION}"
    fi
fi
"${PIP[@]}" -e ".[dev]"
