"""The culture table (analysis/culture.py): final evaluations read from run folders, the
random-writer control rows, the pairs compared and the saved file read back."""
import json

import numpy as np
import pytest
import yaml

from analysis import culture
from analysis.runs import RunsError


def fake_run(folder, mode: str, seed: int, final: dict, agent: str = "agents.CTMAgent"):
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "agent": {"_target_": agent},
                                                        "memory": {"mode": mode}}))
    (folder / "events.out.tfevents.0.host").write_bytes(b"")
    if final is not None:
        (folder / "results.json").write_text(json.dumps(final))
    return folder


def final(visit_1: float, newcomer: float, control: float | None = None) -> dict:
    out = {"charts/success_rate": 0.5, "eval/success_rate": 0.9, "eval/visit_1/steps_over_bfs": visit_1,
           "eval/visit_2/steps_over_bfs": visit_1 - 0.5, "eval/newcomer/steps_over_bfs": newcomer,
           "eval/visit_1/success_rate": 0.8, "eval/newcomer/success_rate": 0.9}
    if control is not None:
        out["eval_random_writers/newcomer/steps_over_bfs"] = control
        out["eval_random_writers/newcomer/success_rate"] = 0.7
    return out


def test_load_finals_groups_runs_by_agent_and_mode_and_sorts_by_seed(tmp_path):
    fake_run(tmp_path / "b", "shared", 1, final(2.0, 1.2, control=1.9))
    fake_run(tmp_path / "a", "shared", 0, final(2.2, 1.1, control=2.1))
    fake_run(tmp_path / "c", "none", 0, final(2.4, 2.4))
    results, seeds = culture.load_finals([tmp_path])
    assert seeds == [0, 1]
    assert sorted(results) == ["CTMAgent/none", "CTMAgent/shared"]
    shared = results["CTMAgent/shared"]
    assert [r["seed"] for r in shared] == [0, 1]
    # eval/ keys lose their prefix, the control keeps its own; training curves are left out
    assert shared[0]["newcomer/steps_over_bfs"] == 1.1
    assert shared[1]["random_writers/newcomer/steps_over_bfs"] == 1.9
    assert not any(k.startswith("charts/") for k in shared[0])
    assert culture.phases(results) == ["visit_1", "visit_2", "newcomer"]


def test_an_unfinished_run_is_named(tmp_path):
    fake_run(tmp_path / "done", "none", 0, final(2.0, 2.0))
    fake_run(tmp_path / "cut", "none", 1, None)
    with pytest.raises(RunsError, match="cut has no results.json"):
        culture.load_finals([tmp_path])


def test_the_control_row_takes_the_runs_first_visit_and_the_random_writers_newcomers():
    runs = {"A/shared": [{"seed": 0, **{k.removeprefix("eval/").removeprefix("eval_"): v
                                         for k, v in final(2.0, 1.1, control=1.8).items()}}],
            "A/none": [{"seed": 0, "visit_1/steps_over_bfs": 2.5}]}
    rows = culture.with_random_writers(runs)
    assert sorted(rows) == ["A/none", "A/shared", "A/shared random writers"]
    control = rows["A/shared random writers"][0]
    assert control["visit_1/steps_over_bfs"] == 2.0           # its own first visit, on an empty store
    assert control["newcomer/steps_over_bfs"] == 1.8          # newcomers on the random policy's store
    assert "visit_2/steps_over_bfs" not in control            # the random policy played those


def test_modes_are_compared_the_more_sharing_first_and_controls_against_their_mode_and_none():
    rows = ["A/none", "A/shared", "A/shared random writers", "A/solo", "B/none"]
    assert culture.mode_pairs(rows) == [
        ("A/shared", "A/none"), ("A/shared", "A/shared random writers"), ("A/shared", "A/solo"),
        ("A/shared random writers", "A/none"), ("A/solo", "A/none")]


def test_tables_print_the_iqm_of_each_phase_and_the_reference_rows():
    runs = [{"seed": s, "visit_1/steps_over_bfs": v, "newcomer/steps_over_bfs": v - 1.0}
            for s, v in enumerate([2.0, 2.5, 3.0, 9.0])]
    text = culture.tables({"A/shared": runs, "explorer/none (ref)": [{"visit_1/steps_over_bfs": 1.8}]})
    row = next(line for line in text.splitlines() if line.startswith("A/shared ") and "[" in line)
    # the IQM of four runs averages the middle two: (2.5 + 3.0) / 2; newcomers one step less
    assert row.split()[1] == "2.75" and "1.75" in row
    assert any(line.startswith("explorer/none (ref)") and "1.80" in line for line in text.splitlines())


def test_a_saved_file_prints_the_same_tables(tmp_path, capsys):
    fake_run(tmp_path / "runs" / "a", "shared", 0, final(2.2, 1.1))
    fake_run(tmp_path / "runs" / "b", "none", 0, final(2.4, 2.4))
    references = tmp_path / "refs.json"
    references.write_text(json.dumps({"explorer/none (ref)": [{"seed": 0, "visit_1/steps_over_bfs": 1.8}]}))
    saved = tmp_path / "culture.json"
    assert culture.main([str(tmp_path / "runs"), "--references", str(references), "--json", str(saved)]) == 0
    first = capsys.readouterr().out
    assert culture.main(["--results", str(saved)]) == 0
    again = capsys.readouterr().out
    assert first.split("\nResults:")[0].rstrip("\n") == again.rstrip("\n")
    assert json.loads(saved.read_text())["seeds"] == [0]


@pytest.mark.parametrize("argv", [[], ["runs", "--results", "x.json"]])
def test_runs_or_a_saved_file_one_of_the_two(argv):
    with pytest.raises(SystemExit):
        culture.parse_args(argv)


def test_a_missing_folder_is_an_error_not_a_table(tmp_path, capsys):
    assert culture.main([str(tmp_path / "nothing")]) == 2
    assert "culture: error" in capsys.readouterr().err


def test_finite_drops_runs_without_a_value():
    from analysis.stats import finite

    assert finite([1.0, np.nan, 2.0, np.inf]).tolist() == [1.0, 2.0]


def test_the_figure_draws_the_tables_numbers(tmp_path):
    runs = [{"seed": s, "visit_1/steps_over_bfs": v, "newcomer/steps_over_bfs": v - 1.0,
             "random_writers/newcomer/steps_over_bfs": v - 0.5, "random_writers/newcomer/success_rate": 1.0}
            for s, v in enumerate([2.0, 2.5, 3.0, 9.0])]
    results = {"A/shared": runs, "explorer/none (ref)": [{"newcomer/steps_over_bfs": 1.8}],
               "trail_follower/shared (ref)": [{"newcomer/steps_over_bfs": 1.0}, {"newcomer/steps_over_bfs": 1.1}]}
    drawn = culture.figure(results, tmp_path / "culture.png")
    assert (tmp_path / "culture.png").read_bytes()[:4] == b"\x89PNG"
    assert drawn["trained"]["A/shared"][0][0] == pytest.approx(2.75)                  # visit 1's IQM
    assert drawn["trained"]["A/shared random writers"][1][0] == pytest.approx(2.25)   # its newcomers
    assert drawn["references"] == pytest.approx({"explorer/none (ref)": 1.8, "trail_follower/shared (ref)": 1.05})


def test_several_saved_files_are_pooled(tmp_path, capsys):
    for seed, path in ((0, 2.0), (1, 3.0)):
        (tmp_path / f"s{seed}.json").write_text(json.dumps(
            {"seeds": [seed], "results": {"A/shared": [{"seed": seed, "newcomer/steps_over_bfs": path}]}}))
    assert culture.main(["--results", str(tmp_path / "s0.json"), str(tmp_path / "s1.json")]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("A/shared ") and "[" in line)
    assert row.split()[1] == "2.50"        # both runs: the IQM of two is their mean


def test_markdown_compares_modes_only_when_there_are_two():
    runs = lambda v: [{"seed": s, "visit_1/steps_over_bfs": v + s, "success_rate": 0.9} for s in range(3)]  # noqa: E731
    alone = culture.markdown({"A/none": runs(2.0), "explorer/none (ref)": runs(1.8)})
    assert alone.splitlines()[-1].startswith("| explorer/none (ref) |") and "P(" not in alone
    both = culture.markdown({"A/none": runs(2.0), "A/shared": runs(-5.0)})   # every shared run shorter
    assert both.splitlines()[-1] == "- A/shared vs none: 1.00 [1.00, 1.00]"
