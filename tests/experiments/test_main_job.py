"""The main job end to end at a tiny budget: the culture sweep, its comparison report, the
reference agents and the saved culture table with what produced it."""
import json

import pytest

from experiments.main import fixed_overrides, main

TINY = ["total_steps=1024", "n_mazes=4", "seed=0", "memory=none,shared", "eval.episodes=2", "eval.every=0",
        "log.checkpoint_every=0"]


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("main_job")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        code = main(TINY)
    (sweep,) = (folder / "multirun").iterdir()
    return code, sweep


def test_the_main_job_saves_the_culture_table_with_its_provenance(main_job):
    code, sweep = main_job
    assert code == 0
    saved = json.loads((sweep / "report" / "culture.json").read_text())
    assert saved["experiment"] == "culture" and saved["seeds"] == [0]
    assert saved["command"] == "maze-experiment " + " ".join(TINY)
    assert saved["commit"] and saved["machine"]["torch_threads"] == 1      # what the runs ran with
    assert {"CTMAgent/none", "CTMAgent/shared", "trail_follower/shared (ref)", "random (ref)"} <= set(saved["results"])


def test_the_table_holds_each_runs_own_final_evaluation(main_job):
    _, sweep = main_job
    saved = json.loads((sweep / "report" / "culture.json").read_text())
    for mode in ("none", "shared"):
        (run_dir,) = [p.parent for p in sweep.rglob("results.json") if f"memory={mode}" in str(p)]
        final = json.loads((run_dir / "results.json").read_text())
        (row,) = saved["results"][f"CTMAgent/{mode}"]
        assert row["newcomer/success_rate"] == final["eval/newcomer/success_rate"]
        assert row["random_writers/newcomer/success_rate"] == final["eval_random_writers/newcomer/success_rate"]


def test_references_run_with_what_every_run_shares():
    assert fixed_overrides(["seed=0,1", "env.rows=4", "hydra.launcher.n_jobs=1", "agent.ticks=2"]) == [
        "env.rows=4", "agent.ticks=2"]
