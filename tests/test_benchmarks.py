"""The training benchmarks' command-line helpers (benchmarks/training_cli.py, learning.py)."""
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def benchmarks_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_learning_evaluates_the_random_policy_when_the_agent_has_knobs_it_lacks(benchmarks_on_path):
    from experiments.evaluate import random_baseline
    from learning import compose_config, random_policy

    overrides = ["eval.episodes=4", "agent.decay_init=1.0", "agent.obs_to_synapses=true"]
    with pytest.raises(Exception, match="decay_init"):  # what the script did before
        compose_config(["agent=random", *overrides])
    assert random_policy("ctm_small", overrides) == random_baseline(compose_config(["agent=random", "eval.episodes=4"]))
