"""analysis.compare end to end on tiny fake runs, and analysis.runs reading event files."""
import numpy as np
import pytest
import yaml
from torch.utils.tensorboard import SummaryWriter

from analysis import compare, runs
from memory.mapping import MAPPINGS

# Final success rate per (memory mode, seed), reached at the last logged step.
FINAL = {"none": [0.1, 0.2], "solo": [0.3, 0.5], "shared": [0.6, 0.7, 0.9]}
STEPS = [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]


def write_run(run_dir, mode, seed, final, eval_rate=None):
    run_dir.mkdir(parents=True)
    config = {"memory": {"mode": mode, "k": 8}, "seed": seed, "agent": {"_target_": "agents.CTMAgent"},
              "run_dir": str(run_dir)}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    # Hydra keeps its own config.yaml in .hydra/ of each job; it is not a run.
    (run_dir / ".hydra").mkdir()
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 0\n")
    writer = SummaryWriter(str(run_dir))
    for i, step in enumerate(STEPS):
        writer.add_scalar("charts/success_rate", final * i / (len(STEPS) - 1), step)
        writer.add_scalar("charts/steps_to_goal_over_bfs", 3.0 - final, step)
    if eval_rate is not None:
        writer.add_scalar("eval/success_rate", eval_rate, STEPS[-1])
    writer.close()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    for mode, finals in FINAL.items():
        for seed, final in enumerate(finals):
            # One solo run has no eval/ scalars, like a run stopped before its evaluation.
            eval_rate = None if (mode, seed) == ("solo", 1) else final
            write_run(root / f"memory={mode},seed={seed}", mode, seed, final, eval_rate)
    return root


def test_find_runs_searches_below_and_skips_hydra_folders(sweep):
    found = runs.find_runs([sweep, sweep / "memory=none,seed=0"])
    assert len(found) == 7
    assert all(p.name.startswith("memory=") for p in found)


def test_report_end_to_end(sweep, tmp_path, capsys):
    out = tmp_path / "report"
    assert compare.main([str(sweep), "--out", str(out), "--reps", "300"]) == 0
    printed = capsys.readouterr().out

    # Final score = last 10% of 10 points = the last point. shared: IQM of 0.6, 0.7, 0.9 weights
    # the middle run 2/3 and the outer ones 1/6 each.
    shared_iqm = 0.6 / 6 + 0.7 * 2 / 3 + 0.9 / 6
    assert "charts/success_rate  (higher is better)" in printed
    assert "charts/steps_to_goal_over_bfs  (lower is better)" in printed
    assert "eval/success_rate  (higher is better)" in printed
    rows = [line.split() for line in printed.splitlines()]
    shared_row = next(r for r in rows if r[:1] == ["shared"])
    assert shared_row[1] == "3" and shared_row[2] == f"{shared_iqm:.3f}" and shared_row[-1] == "0.733"
    # Every shared run beats every other run, for success (higher) and path efficiency (lower).
    assert printed.count("P(shared beats none) = 1.00") == 3
    assert printed.count("P(shared beats solo) = 1.00") == 3
    # The solo run without eval/ scalars is counted apart.
    assert "1 (+1 without)" in printed

    text = (out / "report.md").read_text()
    assert f"| shared | 3 | {shared_iqm:.3f} |" in text
    assert "| none | 2 | 0.150 | [0.100, 0.200] | 0.150 |" in text
    assert "P(shared beats solo) = 1.00" in text
    assert "differ only in the group keys and the seed" in text
    for tag in ["charts_success_rate", "charts_steps_to_goal_over_bfs", "eval_success_rate"]:
        for kind in ["curve", "final"]:
            png = out / f"{tag}_{kind}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({png.name})" in text
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_default_out_is_beside_the_runs(sweep):
    assert compare.default_out([str(sweep)]) == sweep.resolve() / "report"
    assert compare.default_out([str(sweep / "memory=none,seed=0")]) == sweep.resolve() / "report"


def test_group_by_other_keys_and_metric_patterns(sweep, tmp_path, capsys):
    argv = [str(sweep), "--out", str(tmp_path), "--reps", "50", "--group-by", "memory.mode,seed",
            "--metrics", "eval/*"]
    assert compare.main(argv) == 0
    printed = capsys.readouterr().out
    assert "shared / 2" in printed and "charts/" not in printed.split("\n", 1)[1]
    # No group named shared: every later group against every earlier one.
    assert "P(none / 1 beats none / 0) = 1.00" in printed


def test_groups_follow_the_mapping_registry(monkeypatch):
    # A pattern registered later sorts after the built-in ones and before values no mapping has.
    monkeypatch.setitem(MAPPINGS, "pairs", lambda n_mazes, n_agents: None)
    values = [("zeta",), ("pairs",), ("shared",), ("none",), ("solo",), ("alpha",), ("pairs",)]
    assert compare.order_groups(values) == [("none",), ("solo",), ("shared",), ("pairs",), ("alpha",), ("zeta",)]


@pytest.mark.parametrize("argv,message", [
    (["{missing}"], "no such path"),
    (["{empty}"], "no runs under"),
    (["{sweep}", "--metrics", "charts/nope"], "'charts/nope' is not logged by any run; available tags: "
                                               "charts/steps_to_goal_over_bfs, charts/success_rate, "
                                               "eval/success_rate"),
    (["{sweep}", "--group-by", "memory.scope"], "config key 'memory.scope' is missing"),
    (["{sweep}", "--final-fraction", "0"], "--final-fraction must be in (0, 1]"),
    (["{sweep}", "--candidate", "team"], "--candidate 'team' is not a group"),
])
def test_clear_errors(sweep, tmp_path, capsys, argv, message):
    (tmp_path / "empty" / "job").mkdir(parents=True)
    (tmp_path / "empty" / "job" / "config.yaml").write_text("seed: 0\n")
    paths = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", "sweep": sweep}
    argv = [a.format(**paths) for a in argv] + ["--out", str(tmp_path / "out")]
    assert compare.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_resumed_run_reads_as_one_curve(tmp_path):
    # A resumed run opens a second writer with purge_step: points from the first writer at
    # or after that step must be dropped, as TensorBoard itself shows them.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = SummaryWriter(str(run_dir))
    for step in range(10):
        first.add_scalar("charts/success_rate", 1.0, step)
    first.close()
    second = SummaryWriter(str(run_dir), purge_step=5)
    for step in range(5, 10):
        second.add_scalar("charts/success_rate", 2.0, step)
    second.close()
    series = runs.load_scalars(run_dir)["charts/success_rate"]
    np.testing.assert_array_equal(series.steps, np.arange(10))
    np.testing.assert_array_equal(series.values, [1.0] * 5 + [2.0] * 5)


def test_final_score_uses_the_last_fraction_of_points():
    series = runs.Series(np.arange(20), np.arange(20, dtype=float))
    assert compare.final_score(series, 0.1) == pytest.approx(18.5)     # last 2 points
    assert compare.final_score(series, 0.01) == 19.0                   # at least 1 point
    assert compare.final_score(series, 1.0) == pytest.approx(9.5)


def test_config_value_dotted_keys():
    config = {"memory": {"mode": "solo"}, "agent": {"_target_": "agents.LSTMAgent"}}
    assert runs.config_value(config, "memory.mode") == "solo"
    assert runs.config_value(config, "agent._target_") == "agents.LSTMAgent"
    with pytest.raises(runs.RunsError, match="keys there: mode"):
        runs.config_value(config, "memory.scope")


def test_warns_about_unequal_budgets_and_mixed_configs(tmp_path, capsys):
    for mode, seed in [("none", 0), ("none", 1), ("shared", 0), ("shared", 1)]:
        write_run(tmp_path / "runs" / f"{mode}{seed}", mode, seed, 0.5)
    # One run of a group with another k, cut short: the report must say so.
    short = tmp_path / "runs" / "shared2"
    short.mkdir()
    config = {"memory": {"mode": "shared", "k": 4}, "seed": 2, "agent": {"_target_": "agents.CTMAgent"}}
    (short / "config.yaml").write_text(yaml.safe_dump(config))
    with SummaryWriter(str(short)) as writer:
        writer.add_scalar("charts/success_rate", 0.5, 300)
    assert compare.main([str(tmp_path / "runs"), "--reps", "20"]) == 0
    printed = capsys.readouterr().out
    assert "warning: runs end at different steps (300 to 900)" in printed
    assert "warning: runs inside a group differ in memory.k" in printed
    text = (tmp_path / "runs" / "report" / "report.md").read_text()
    assert "- `memory.k`: 8, 4" in text
