"""maze-eval (experiments/reevaluate.py): a finished run evaluated again, as it was or changed."""
import json
import re
import shutil

import pytest
import torch
import yaml

from experiments.build import make_agent
from experiments.config import TrainConfig
from experiments.reevaluate import RunError, changed_config, find_run_dirs, main
from memory import MemoryBank
from experiments.train import train


def test_unchanged_it_gives_the_runs_own_final_evaluation(finished_run, tmp_path, capsys):
    run_dir, final = finished_run
    assert main([str(run_dir), "--out", str(tmp_path / "out")]) == 0
    (result_file,) = (tmp_path / "out").glob("*/results.json")
    again = json.loads(result_file.read_text())
    own = {k.removeprefix("eval/"): v for k, v in final.items() if k.startswith("eval/")}
    assert own and {k: again[k] for k in own} == pytest.approx(own, nan_ok=True)
    table = json.loads((tmp_path / "out" / "culture.json").read_text())
    assert table["seeds"] == [3] and list(table["results"]) == ["CTMAgent/shared"]
    assert (run_dir / "results.json").stat().st_size > 0 and not (run_dir / "evaluations").exists()


def test_overrides_change_the_evaluation_not_the_run(finished_run, tmp_path):
    run_dir, final = finished_run
    before = (run_dir / "config.yaml").read_text()
    assert main([str(run_dir), "eval.episodes=3", "eval.layout_seed=77", "env.generator=prim",
                 "--out", str(tmp_path / "out")]) == 0
    (config_file,) = (tmp_path / "out").glob("*/config.yaml")
    changed = yaml.safe_load(config_file.read_text())
    assert changed["eval"]["episodes"] == 3 and changed["env"]["generator"] == "prim"
    assert (run_dir / "config.yaml").read_text() == before


def test_a_random_writers_store_is_what_the_newcomers_read(finished_run, tmp_path):
    run_dir, _ = finished_run
    assert main([str(run_dir), "--writers", "random", "--out", str(tmp_path / "out")]) == 0
    (result_file,) = (tmp_path / "out").glob("*/results.json")
    assert json.loads(result_file.read_text())["memory/writes"] > 0


@pytest.mark.parametrize("override,match", [
    ("env.view_size=7", r"observations of shape \(6, 5, 5\); the overrides give \(6, 7, 7\)"),
    ("agent.d_model=32", "agent.d_model cannot change at evaluation"),
    ("seed=5", "seed cannot change at evaluation"),
    ("eval.episodes=-1", "eval.episodes=-1"),
])
def test_what_the_checkpoint_cannot_take_fails_before_any_work(finished_run, tmp_path, capsys, override, match):
    run_dir, _ = finished_run
    assert main([str(run_dir), override, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("maze-eval: error:") and re.search(match, err)
    assert not (tmp_path / "out").exists()


def test_an_override_must_be_key_equals_value(finished_run):
    with pytest.raises(RunError, match="not KEY=VALUE"):
        changed_config(finished_run[0], ["=3"])


def test_folders_without_runs_are_named(tmp_path):
    with pytest.raises(RunError, match="holds no run"):
        find_run_dirs([tmp_path])


def test_a_hydra_run_folder_with_equals_signs_is_a_run_not_an_override(finished_run, tmp_path):
    run_dir, _ = finished_run
    hydra_named = tmp_path / "memory=shared,seed=3"
    hydra_named.symlink_to(run_dir, target_is_directory=True)
    assert main([str(hydra_named), "eval.episodes=1", "--out", str(tmp_path / "out")]) == 0


@pytest.fixture(scope="module")
def another_group(tmp_path_factory, finished_run):
    run_dir = tmp_path_factory.mktemp("runs") / "shared_seed4"
    saved = yaml.safe_load((finished_run[0] / "config.yaml").read_text())
    train(TrainConfig.from_dict({**saved, "seed": 4, "run_dir": str(run_dir)}))
    return run_dir


def test_another_groups_store_is_what_the_newcomers_read(finished_run, another_group, tmp_path):
    run_dir, _ = finished_run
    outcomes = {}
    for writers in ("self", str(another_group), str(run_dir)):
        out = tmp_path / f"out{len(outcomes)}"
        assert main([str(run_dir), "--writers", writers, "--out", str(out)]) == 0
        outcomes[writers] = json.loads(next(out.glob("*/results.json")).read_text())
    own, other, same = outcomes["self"], outcomes[str(another_group)], outcomes[str(run_dir)]
    # the run's own agent as "another" writer plays the visits exactly as the run itself does
    assert {k: v for k, v in same.items() if k.startswith("newcomer/")} == \
        {k: v for k, v in own.items() if k.startswith("newcomer/")}
    # another group's visits are other plays, so the store the newcomers search differs
    visits = lambda r: {k: v for k, v in r.items() if k.startswith("memory/")}
    assert visits(other) != visits(own)


def test_writers_with_other_memory_widths_are_refused(finished_run, tmp_path, capsys):
    run_dir, _ = finished_run
    other = tmp_path / "narrow_run"
    shutil.copytree(run_dir, other)
    saved = yaml.safe_load((other / "config.yaml").read_text())
    saved["agent"] = {**saved["agent"], "key_dim": 16}
    (other / "config.yaml").write_text(yaml.safe_dump(saved))
    latest = other / "checkpoints" / (other / "checkpoints" / "latest").read_text().strip()
    state = torch.load(latest / "state.pt", weights_only=False)
    fresh = make_agent(TrainConfig.from_dict(saved), (6, 5, 5), 5, torch.device("cpu"))
    state["agent"] = fresh.state_dict()
    torch.save(state, latest / "state.pt")
    assert main([str(run_dir), "--writers", str(other), "--out", str(tmp_path / "out")]) == 2
    assert "agent.key_dim (16 there, 32 here)" in capsys.readouterr().err


@pytest.mark.parametrize("writers", ["explorer", "trail_follower"])
def test_scripted_writers_fill_the_store_the_newcomers_read(finished_run, tmp_path, writers):
    run_dir, _ = finished_run
    assert main([str(run_dir), "--writers", writers, "--out", str(tmp_path / "out")]) == 0
    result = json.loads(next((tmp_path / "out").glob("*/results.json")).read_text())
    # the scripted explorer finds the goal in every visit of these tiny mazes
    assert result["visit_1/success_rate"] == 1.0 and result["memory/writes"] > 0


def test_other_writers_act_as_themselves_on_the_writing_rows_and_keep_their_own_state():
    from agents.base import AgentOutput
    from experiments.evaluate import OtherWriters

    class Constant:
        """Logits and value `level`; a state under its own name (the two layouts differ)."""

        def __init__(self, level, name):
            self.level, self.name = level, name

        def initial_state(self, batch, device):
            return {self.name: torch.zeros(batch, 2)}

        def __call__(self, obs, state, recall=None):
            rows = obs.shape[0]
            return AgentOutput(logits=torch.full((rows, 5), self.level), value=torch.full((rows,), self.level),
                               state={self.name: state[self.name] + self.level})

        def reset_state(self, state, starts):   # a learned start state of its own
            s = state[self.name]
            return {self.name: torch.where(starts[:, None], torch.full_like(s, 10 * self.level), s)}

    actor = OtherWriters(Constant(1.0, "h"), Constant(7.0, "lstm"))
    state = actor.initial_state(3, "cpu")
    assert sorted(state) == ["h", "writer/lstm"]
    actor.writing = torch.tensor([True, False, True])
    out = actor(torch.zeros(3, 6, 5, 5), state)
    assert out.logits[:, 0].tolist() == [7.0, 1.0, 7.0] and out.value.tolist() == [7.0, 1.0, 7.0]
    assert out.state["h"][:, 0].tolist() == [1.0] * 3 and out.state["writer/lstm"][:, 0].tolist() == [7.0] * 3
    started = actor.reset_state(out.state, torch.tensor([True, True, False]))
    assert started["h"][:, 0].tolist() == [10.0, 10.0, 1.0]
    assert started["writer/lstm"][:, 0].tolist() == [70.0, 70.0, 7.0]
    actor.writing = torch.zeros(3, dtype=torch.bool)       # only the newcomers: the writer's state rests
    after = actor(torch.zeros(3, 6, 5, 5), started)
    assert after.state["writer/lstm"].equal(started["writer/lstm"]) and after.logits[:, 0].tolist() == [1.0] * 3


def test_a_damaged_checkpoint_is_named_and_nothing_is_written(finished_run, tmp_path, capsys):
    run_dir, _ = finished_run
    copy = tmp_path / "damaged_run"
    shutil.copytree(run_dir, copy)
    latest = copy / "checkpoints" / (copy / "checkpoints" / "latest").read_text().strip()
    (latest / "state.pt").write_bytes(b"not a checkpoint")
    assert main([str(copy), "--out", str(tmp_path / "out")]) == 2
    assert "state.pt is damaged" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def checkpoint_bank(run_dir):
    return run_dir / "checkpoints" / (run_dir / "checkpoints" / "latest").read_text().strip() / "memory.bank"


def first_reads(run_dir, memory=None):
    """The recall of the evaluation's first step (visit 1, nothing written yet) and the bank."""
    from experiments.build import bank_factory
    from experiments.evaluate import evaluate
    from experiments.reevaluate import load_agent, starting_bank

    saved, cfg = changed_config(run_dir, ["eval.episodes=4"])
    cpu = torch.device("cpu")
    agent = load_agent(run_dir, saved, cfg, cpu)[0]
    bank = starting_bank(memory, cfg, agent, cpu) if memory else bank_factory(cfg, agent, 4, cpu)(4)
    seen = []
    evaluate(agent, cfg, lambda n: bank, cpu, seed=cfg.seed,
             watch=lambda before, step, info, env: seen.append(step["recall"]) if not seen else None)
    return seen[0], bank


def test_a_starting_bank_is_what_the_first_visit_reads(finished_run):
    run_dir, _ = finished_run
    empty, _ = first_reads(run_dir)
    assert not empty.mask.any()                   # a fresh evaluation starts from empty stores
    saved = MemoryBank.load(checkpoint_bank(run_dir))
    recall, bank = first_reads(run_dir, checkpoint_bank(run_dir))
    assert recall.mask.all()
    for row in range(recall.mask.shape[0]):
        store = int(saved.store_of.flatten()[row])
        keys = saved.ring.keys[store][saved.ring.entry_id[store] >= 0]
        # every key read is one of the saved store's keys
        assert (recall.keys[row][:, None] == keys[None]).all(-1).any(-1).all()


def test_maze_eval_starts_from_a_saved_bank_that_fits_and_names_what_does_not(finished_run, tmp_path, capsys):
    run_dir, _ = finished_run
    bank = str(checkpoint_bank(run_dir))
    assert main([str(run_dir), "--memory", bank, "eval.episodes=4", "--out", str(tmp_path / "fits")]) == 0
    assert json.loads((tmp_path / "fits" / "culture.json").read_text())["memory"] == bank
    assert main([str(run_dir), "--memory", bank, "--out", str(tmp_path / "out")]) == 2
    assert "n_mazes 4 there, 2 here" in capsys.readouterr().err
    assert main([str(run_dir), "--memory", str(tmp_path / "nothing.bank"), "--out", str(tmp_path / "out")]) == 2
    assert "nothing.bank" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_named_checkpoint_is_evaluated_and_a_missing_one_named(finished_run, tmp_path, capsys):
    run_dir, _ = finished_run
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("update_*"))
    assert len(kept) >= 2, "the tiny run keeps several checkpoints"
    assert main([str(run_dir), "--checkpoint", kept[0], "--out", str(tmp_path / "first")]) == 0
    assert json.loads(next((tmp_path / "first").glob("*/results.json")).read_text())["checkpoint"] == kept[0]
    assert main([str(run_dir), "--checkpoint", "update_999999", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--checkpoint update_999999" in err and kept[-1] in err and not (tmp_path / "out").exists()
