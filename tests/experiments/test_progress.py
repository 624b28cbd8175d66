"""The sweep's progress line: runs' progress files, their sum, the line, the watcher thread."""
import io
import threading
from pathlib import Path

import pytest

from experiments import progress as progress_module
from experiments.logbook import RunLogger
from experiments.main import main, main_job_config, planned_sweep, split_preset
from experiments.progress import (FILE_NAME, SweepProgress, format_duration, progress_line,
                                  read_run_progress, sweep_snapshot, write_run_progress)
from tests.experiments.helpers import tiny_config


def make_run(sweep, name, steps, total):
    run_dir = sweep / name
    run_dir.mkdir(parents=True)
    write_run_progress(run_dir, steps, total)
    return run_dir


def wait_for_output(stream, text=""):
    while text not in stream.getvalue() or not stream.getvalue():
        threading.Event().wait(0.01)


def test_snapshot_sums_started_runs_and_counts_the_rest_at_the_planned_budget(tmp_path):
    make_run(tmp_path, "memory=none,seed=0", 100, 100)
    make_run(tmp_path, "memory=none,seed=1", 40, 100)
    make_run(tmp_path, "memory=solo/seed=0", 0, 200)     # started (in a nested subdir), own budget
    broken = tmp_path / "memory=solo,seed=1"
    broken.mkdir()
    (broken / FILE_NAME).write_text("{")                # unreadable: counted as not started
    (broken / f".{FILE_NAME}.tmp123").write_text('{"steps": 5, "total": 5}')  # a temp file

    snap = sweep_snapshot(tmp_path, runs=5, steps_per_run=100)
    assert (snap.runs, snap.done, snap.running) == (5, 1, 2)
    assert (snap.steps, snap.total) == (140, 100 + 100 + 200 + 2 * 100)
    assert progress_line(snap, steps_per_second=10.0) == (
        "sweep: 1/5 runs done, 2 running | 140/600 agent-steps (23%) | ETA 46s")
    assert progress_line(snap, steps_per_second=None).endswith("| ETA --")


def test_snapshot_of_a_sweep_not_yet_created_and_of_a_finished_one(tmp_path):
    snap = sweep_snapshot(tmp_path / "not_yet", runs=9, steps_per_run=1000)
    assert progress_line(snap, None) == "sweep: 0/9 runs done, 0 running | 0/9,000 agent-steps (0%) | ETA --"
    for seed in range(2):
        make_run(tmp_path, f"seed={seed}", 3000, 3000)
    done = sweep_snapshot(tmp_path, runs=2, steps_per_run=1000)
    assert progress_line(done, None) == "sweep: 2/2 runs done, 0 running | 6,000/6,000 agent-steps (100%) | ETA 0s"


def test_durations():
    assert [format_duration(s) for s in (0.4, 59, 61, 3599, 3600, 7322)] == [
        "0s", "59s", "1m01s", "59m59s", "1h00m", "2h02m"]


def test_run_progress_file_follows_the_updates(tmp_path):
    cfg = tiny_config(tmp_path)
    logger = RunLogger(tmp_path, cfg)
    progress = logger.progress(total=3, initial=1)
    per_update = cfg.steps_per_update
    assert read_run_progress(tmp_path / FILE_NAME) == (per_update, 3 * per_update)
    progress.update(1)
    progress.set_postfix(step=2 * per_update)
    assert read_run_progress(tmp_path / FILE_NAME) == (2 * per_update, 3 * per_update)
    progress.close()
    logger.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{FILE_NAME}")], "temp files left"


def test_watcher_writes_lines_to_a_file_until_stopped(tmp_path):
    stream = io.StringIO()
    watcher = SweepProgress(tmp_path, runs=2, steps_per_run=50, stream=stream, interval=0.01)
    with watcher:
        wait_for_output(stream)
        make_run(tmp_path, "seed=0", 50, 50)
        make_run(tmp_path, "seed=1", 10, 50)
        wait_for_output(stream, "1/2 runs done, 1 running | 60/100")
    assert not watcher._thread.is_alive()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sweep: 0/2 runs done, 0 running | 0/100 agent-steps (0%) | ETA --"
    assert lines[-1].startswith("sweep: 1/2 runs done, 1 running | 60/100 agent-steps (60%) | ETA ")
    assert stream.getvalue().endswith("\n") and "\r" not in stream.getvalue()
    watcher.stop()   # a second stop does nothing
    assert stream.getvalue().splitlines() == lines


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_watcher_redraws_one_line_on_a_terminal_and_stop_wakes_it(tmp_path):
    stream = Terminal()
    watcher = SweepProgress(tmp_path, runs=1, steps_per_run=10, stream=stream, interval=3600)
    watcher.start()
    wait_for_output(stream)
    make_run(tmp_path, "seed=0", 10, 10)
    stopper = threading.Thread(target=watcher.stop)
    stopper.start()
    stopper.join(60)   # a watcher that is not woken would sleep for the whole hour
    assert not stopper.is_alive() and not watcher._thread.is_alive()
    first = "sweep: 0/1 runs done, 0 running | 0/10 agent-steps (0%) | ETA --"
    last = "sweep: 1/1 runs done, 0 running | 10/10 agent-steps (100%) | ETA 0s"
    assert stream.getvalue() == "\r" + first + "\r" + last.ljust(len(first)) + "\n"


def test_eta_rate_is_measured_from_the_first_step_seen(tmp_path, monkeypatch):
    watcher = SweepProgress(tmp_path, runs=1, steps_per_run=100, stream=io.StringIO())
    clock = iter([10.0, 25.0, 27.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    assert watcher._rate(0) is None       # t=10: the sweep is still starting
    assert watcher._rate(20) is None      # t=25: the first steps; the clock starts here
    assert watcher._rate(60) == 20.0      # t=27: 40 more steps in 2 s


@pytest.mark.parametrize("kwargs, match", [(dict(runs=0, steps_per_run=10), "runs=0"),
                                           (dict(runs=2, steps_per_run=0), "steps_per_run=0"),
                                           (dict(runs=2, steps_per_run=10, interval=0), "interval=0")])
def test_watcher_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SweepProgress(tmp_path, stream=io.StringIO(), **kwargs)


def test_planned_sweep_counts_runs_as_hydra_expands_them():
    # memory none/solo/shared x seeds 0/1/2, each at the preset's budget
    assert planned_sweep() == (9, main_job_config().total_steps)
    # A sweep on the command line replaces the preset's; launcher settings are not runs.
    assert planned_sweep(["seed=0,1", "memory=none", "total_steps=4096",
                          "hydra/launcher=slurm", "hydra.launcher.timeout_min=60"]) == (2, 4096)
    # Another preset's sweep and budget.
    assert planned_sweep([], "compare_ctm") == (9, 2 * main_job_config().total_steps)
    assert planned_sweep(["seed=0,1,2,3,4", "memory=none,shared"], "compare_ctm") == (10, 1228800)


@pytest.mark.parametrize("argv,preset,rest", [
    ([], "culture", []),
    (["seed=0", "agent=gru"], "culture", ["seed=0", "agent=gru"]),
    (["experiment=compare_ctm", "seed=0"], "compare_ctm", ["seed=0"]),
    (["seed=0", "+experiment=smoke"], "smoke", ["seed=0"]),
])
def test_split_preset_picks_the_named_experiment_and_keeps_the_rest(argv, preset, rest):
    assert split_preset(argv) == (preset, rest)


@pytest.mark.parametrize("argv,match", [
    (["experiment=compare_lstm"], r"experiment=compare_lstm is not a preset; one of: compare, compare_ctm, "),
    (["experiment=compare", "+experiment=smoke"], r"experiment given 2 times \(compare, smoke\)"),
])
def test_split_preset_names_a_bad_preset_before_any_work(argv, match):
    with pytest.raises(SystemExit, match=match):
        split_preset(argv)


@pytest.mark.parametrize("argv,match", [
    (["total_steps=-5"], r"^maze-experiment: total_steps=-5 is not allowed: >= 1$"),
    (["total_steps=4096,-3"], r"^maze-experiment: total_steps=-3 is not allowed"),   # a swept value
    (["memory=none,bogus"], r"^maze-experiment: .*Could not find 'memory/bogus'"),
    # a swept value checked together with the fixed overrides: 8 minibatches of 1 maze x 4 agents
    (["n_mazes=1", "algo.num_minibatches=2,8"], r"^maze-experiment: algo.num_minibatches=8 is not allowed"),
    (["algo.lrate=1"], r"^maze-experiment: Could not override 'algo.lrate'"),
    (["--foo"], r"^maze-experiment: .*--foo"),
])
def test_main_rejects_bad_overrides_in_one_line_before_any_run(tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=match):
        main(argv)
    assert list(tmp_path.iterdir()) == []   # no sweep directory: nothing started


def test_main_help_names_the_presets_and_starts_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["seed=0", "--help"]) == 0
    shipped = sorted(p.stem for p in (Path(__file__).parents[2] / "configs" / "experiment").glob("*.yaml"))
    assert f"Presets: {', '.join(shipped)}." in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
