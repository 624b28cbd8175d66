"""Every shipped preset trains, for a few updates, exactly the network its stored fingerprint
says (experiments/fingerprint.py): a change that moves results cannot land unnoticed."""
import json

import pytest
import torch

from experiments import fingerprint


def test_presets_train_as_fingerprinted():
    stored = json.loads(fingerprint.STORED.read_text())
    if stored["torch"] != torch.__version__:
        pytest.skip(f"fingerprints were made with torch {stored['torch']}, this is {torch.__version__} "
                    "(scripts/setup.sh installs the pinned one)")
    assert set(stored["presets"]) == set(fingerprint.presets()), \
        "a preset was added or removed: python -m experiments.fingerprint --write"
    found = fingerprint.compute_portable(fingerprint.presets())
    moved = fingerprint.drift(stored, found)
    assert not moved, ("training results moved:\n" + "\n".join(moved) +
                       "\nIf the change is meant to move them, measure those results again and store the "
                       "new fingerprints: python -m experiments.fingerprint --write")


def test_drift_names_what_to_measure_again():
    fp = {"sha256": "a" * 16, "metrics": {"eval/success_rate": 0.5}}
    stored = {"presets": {"compare": {"none": fp}}}
    moved = {"presets": {"compare": {"none": {**fp, "sha256": "b" * 16}}}}
    [line] = fingerprint.drift(stored, moved)
    assert line.startswith("compare/none: aaaa") and "the LSTM navigation comparison" in line
    assert fingerprint.drift(stored, stored) == []
