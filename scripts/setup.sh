#!/usr/bin/env bash
# Create .venv and install the project with its dev extra.
#
# Every package is installed at the version constraints.txt pins, the versions the README's
# numbers were produced with, so a fresh clone reproduces them after newer releases exist.
# MAZE_UNPINNED=1 skips constraints.txt and takes the newest releases pyproject.toml allows.
#
# Torch is installed first and on its own: on a machine without an NVIDIA GPU we
# pin the CPU build so that pip never pulls a multi-GB CUDA wheel; with a GPU,
# pip's default (CUDA) build is what we want. Both at constraints.txt's torch version
# (the newest CUDA build with MAZE_UNPINNED=1).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_CPU_VERSION="${TORCH_CPU_VERSION:-$(sed -n 's/^torch==//p' constraints.txt)}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --quiet)
if [ "${MAZE_UNPINNED:-0}" != 1 ]; then
    PIP+=(-c constraints.txt)
fi

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        "${PIP[@]}" torch
    else
        "${PIP[@]}" "torch==${TORCH_CPU_VERSION}"
    fi
fi
"${PIP[@]}" -e ".[dev]"
