"""The reference agents (experiments/references.py), evaluated as the main job does after a
memory task."""
import json

import pytest

from experiments import references


def test_references_take_every_override_but_the_agents_knobs_and_the_memory_mode():
    overrides = ["env.rows=8", "agent.decay_init=1.0", "++agent.dropout=0.1", "+agent.extra=1",
                 "~agent.key_dim", "agent=lstm", "agents_note=1", "algo.gamma=0.99", "memory.k=4",
                 "memory=none", "memory.mode=solo", "memory.bank.capacity=64"]
    assert references.for_references(overrides) == ["env.rows=8", "agents_note=1", "algo.gamma=0.99",
                                                     "memory.k=4", "memory.bank.capacity=64"]


def test_a_memory_mode_override_of_the_sweep_leaves_each_reference_its_own_mode():
    # `maze-experiment memory=none` once gave every trail follower memory none
    cfg = references.compose("trail_follower", "shared", 0, references.for_references(["memory=none"]), "culture")
    assert cfg.memory.mode == "shared"


@pytest.fixture(scope="module")
def culture_references():
    # a trained agent's knob among the overrides must not reach the scripted agents
    return references.reference_results("culture", [0, 1], ["eval.episodes=4", "agent.memory_prior=true"])


def test_every_reference_is_evaluated_once_per_seed(culture_references):
    assert sorted(culture_references) == sorted(
        [f"{a}/{m} (ref)" for a, m in references.REFERENCES]
        + ["trail_follower/shared random writers (ref)", "random (ref)"])
    for runs in culture_references.values():
        assert [r["seed"] for r in runs] == [0, 1]


def test_the_trail_follower_on_a_shared_store_beats_the_explorer_and_random_writers_help_it_less(
        culture_references):
    path = lambda name, phase: sum(r[f"{phase}/steps_over_bfs"] for r in culture_references[name]) / 2
    explorer = path("explorer/none (ref)", "newcomer")
    follower = path("trail_follower/shared (ref)", "newcomer")
    on_random_store = path("trail_follower/shared random writers (ref)", "newcomer")
    assert follower < 1.2 < explorer
    assert follower < on_random_store
    # the control row keeps the follower's own first visit and nothing of the random visits
    control = culture_references["trail_follower/shared random writers (ref)"][0]
    assert control["visit_1/steps_over_bfs"] == culture_references["trail_follower/shared (ref)"][0][
        "visit_1/steps_over_bfs"]
    assert not any(k.startswith("visit_2/") for k in control)


def test_the_command_writes_the_file_the_culture_table_reads(tmp_path):
    out = tmp_path / "refs.json"
    assert references.main(["culture", "--seeds", "3", "--out", str(out),
                            "--overrides", "eval.episodes=1", "eval.random_writers=false"]) == 0
    saved = json.loads(out.read_text())
    assert "trail_follower/shared random writers (ref)" not in saved     # the control is off
    assert saved["random (ref)"][0]["seed"] == 3


def test_a_bad_preset_is_refused_before_any_work(capsys):
    with pytest.raises(SystemExit):
        references.main(["nonsense", "--seeds", "0", "--out", "x.json"])
    assert "nonsense" in capsys.readouterr().err
