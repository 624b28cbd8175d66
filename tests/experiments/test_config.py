"""Bad configuration values fail at start-up, naming the key, the value and what is allowed."""
from dataclasses import asdict

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from envs import MazeConfig
from experiments.build import make_agent
from experiments.config import (ConfigError, TrainConfig, TrainSchema, available_cores,
                                default_torch_threads, resolve_torch_threads, runs_at_once)
from experiments.main import run_config
from experiments.train import resolve_device, train
from tests.experiments.helpers import CONFIGS, tiny_config


@pytest.mark.parametrize("override,match", [
    (dict(algo=dict(clip_coef=-0.1)), r"algo.clip_coef=-0.1 is not allowed: > 0"),
    (dict(algo=dict(gamma=1.5)), r"algo.gamma=1.5"),
    (dict(algo=dict(trunk_lr_scale=0.0)), r"algo.trunk_lr_scale=0.0 is not allowed: > 0 or null"),
    (dict(algo=dict(reward_scale="max")), r"algo.reward_scale='max'"),
    (dict(algo=dict(num_step=10)), r"unknown key\(s\) \['algo.num_step'\]"),
    (dict(memory=dict(mode="global")), r"memory.mode='global' is not allowed: one of \['none', 'solo', 'shared'\]"),
    (dict(memory=dict(k=0)), r"memory.k=0"),
    (dict(env=dict(view_size=4)), r"env: view_size=4 must be odd"),
    (dict(env=dict(wiew_size=5)), r"env: unknown maze option\(s\) \['wiew_size'\]"),
    (dict(total_steps=0), r"total_steps=0"),
    (dict(n_mazes=0), r"n_mazes=0"),
    (dict(device="tpu"), r"device='tpu'"),
    (dict(eval=dict(visits=0)), r"eval.visits=0"),
    (dict(tota_steps=5), r"unknown top-level key\(s\) \['tota_steps'\]"),
])
def test_bad_values_fail_with_a_named_key(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        tiny_config(tmp_path, **override)


def test_bad_agent_and_bank_options_are_named(tmp_path):
    cfg = tiny_config(tmp_path, agent_preset="lstm")
    cfg.agent["d_modle"] = 3
    with pytest.raises(ConfigError, match="d_modle"):
        make_agent(cfg, (6, 5, 5), 5, resolve_device("cpu"))
    cfg = tiny_config(tmp_path)
    cfg.agent["_target_"] = "agents.NoSuchAgent"
    with pytest.raises(ConfigError, match="agents.NoSuchAgent"):
        make_agent(cfg, (6, 5, 5), 5, resolve_device("cpu"))


@pytest.mark.parametrize("knob,value,must", [
    ("trunk_lr_scale", "abc", "a finite number"),
    ("d_model", 64.0, "an int"),
    ("sync_norm", 1, r"a bool \(true or false\)"),
    ("sync_window", "5", "an int or null"),
])
def test_agent_knobs_of_the_wrong_type_are_named(tmp_path, knob, value, must):
    cfg = tiny_config(tmp_path)
    cfg.agent[knob] = value
    with pytest.raises(ConfigError, match=rf"agent.{knob}={value!r} is not allowed: must be {must}"):
        make_agent(cfg, (6, 5, 5), 5, resolve_device("cpu"))


def test_every_preset_composes_and_validates(tmp_path):
    agents = [f"agent={p.stem}" for p in sorted((CONFIGS / "agent").glob("*.yaml"))]
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        for overrides in ([], ["+experiment=smoke"], ["+experiment=compare"], ["+experiment=compare_ctm"],
                          ["+experiment=gpu"],
                          ["+experiment=memory"], ["+experiment=memory_small"], ["+experiment=culture"],
                          ["agent=lstm", "memory=solo"],
                          ["agent=gru", "memory=none"], ["content=outcome"], *[[a] for a in agents]):
            raw = compose(config_name="train", overrides=overrides + [f"run_dir={tmp_path}"])
            raw = OmegaConf.to_container(raw, resolve=True)
            cfg = TrainConfig.from_dict(raw)
            assert cfg.to_dict() == raw, overrides        # validation keeps every composed value
            group = next((o.split("=")[1] for o in overrides if o.startswith("memory=")), "shared")
            assert cfg.memory.mode == group, overrides    # the memory group chosen sets the mode


def composed(experiment: str) -> dict:
    """A preset as Hydra composes it, its own hydra section included, interpolations unresolved."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="train", overrides=[f"+experiment={experiment}"],
                                              return_hydra_config=True), resolve=False)


def test_memory_small_is_the_memory_task_on_3x3_cells():
    small, memory = composed("memory_small"), composed("memory")
    assert (small["env"]["rows"], small["env"]["cols"]) == (3, 3)
    assert (memory["env"]["rows"], memory["env"]["cols"]) == (5, 5)
    small["env"].update(rows=5, cols=5)
    assert small["hydra"]["sweeper"]["params"] == {"memory": "none,solo,shared", "seed": "0,1,2,3,4"}
    small["hydra"]["sweeper"]["params"]["seed"] = memory["hydra"]["sweeper"]["params"]["seed"]
    for c in (small, memory):    # where Hydra says the run's config came from differs, as it should
        c["hydra"].pop("runtime", None), c["hydra"]["overrides"].pop("task", None)
    assert small == memory


def test_compare_ctm_is_the_main_job_with_the_ctm_at_its_chosen_setting_and_budget():
    ctm, main = composed("compare_ctm"), composed("compare")
    assert ctm["agent"]["_target_"] == "agents.CTMAgent" and main["agent"]["_target_"] == "agents.LSTMAgent"
    assert ctm["total_steps"] == 2 * main["total_steps"]
    algo = ctm["algo"]
    assert (algo["anneal_lr"], algo["trunk_lr_scale"], algo["num_minibatches"]) == (False, 0.5, 4)
    evaluations = [(c.num_updates // c.eval.every) for c in map(run_config, (["+experiment=compare_ctm"],
                                                                           ["+experiment=compare"]))]
    assert evaluations == [10, 10]
    # Everything else (task, memory sweep, seeds, evaluation protocol, threads) is the main job's.
    for c in (ctm, main):
        c["hydra"].pop("runtime", None), c["hydra"]["overrides"].pop("task", None)
        for key in ("agent", "total_steps"):
            c.pop(key)
        for section, keys in (("algo", ("anneal_lr", "trunk_lr_scale", "num_minibatches")),
                              ("eval", ("every",)), ("log", ("images_every", "checkpoint_every"))):
            for key in keys:
                c[section].pop(key)
    assert ctm == main


# Through the real entry point (Hydra composition onto the schema, then the dataclasses),
# as `maze-train +experiment=smoke <override>` would see each value.
@pytest.mark.parametrize("overrides,match", [
    (["env.view_size=5.5"], r"env.view_size=5.5: Value '5.5' of type 'float' could not be converted to Integer"),
    (["env.rows=3.5"], r"env.rows=3.5: .*converted to Integer"),
    (["env.max_steps=2.5"], r"env.max_steps=2.5: .*converted to Integer"),
    (["total_steps=1e5"], r"total_steps=1e5: Value '100000.0' of type 'float' could not be converted to Integer"),
    (["n_mazes=2.5"], r"n_mazes=2.5: .*converted to Integer"),
    (["seed=1.5"], r"seed=1.5: .*converted to Integer"),
    (["seed=-1"], r"seed=-1 is not allowed: >= 0"),
    (["resume=maybe"], r"resume=maybe: Value 'maybe' is not a valid bool"),
    (["env.step_penalty=nan"], r"env: step_penalty=nan must be a finite number"),
    (["env.goal=[1]"], r"env: goal=\[1\] must be a list of 2 ints or null"),
    (["env.goal=[1,99]"], r"env: goal=\[1, 99\] is outside the 9x9 grid"),
    # smoke: 4 mazes x 4 agents = 16 rows, so 17 minibatches cannot each hold a row
    (["algo.num_minibatches=17"],
     r"algo.num_minibatches=17 is not allowed: <= the rows of a rollout, n_mazes x env.n_agents = 4 x 4 = 16"),
    (["memory.bank.index=ivf", "memory.bank.capacity=8"],
     r"memory.bank \(index='ivf', capacity=8\): ivf nlist=256 must be in \[1, 8\]"),
    (["memory.bank.index=ivf", "memory.bank.capacity=8", "+memory.bank.ivf={nlist: 4, nprobe: 8}"],
     r"ivf nprobe=8 must be in \[1, 4\]"),
])
def test_bad_overrides_fail_before_any_work(overrides, match):
    with pytest.raises(ConfigError, match=match):
        run_config(["+experiment=smoke", *overrides])


def test_values_that_fit_compose(tmp_path):
    cfg = run_config(["+experiment=smoke", "algo.num_minibatches=16", "env.goal=[1,1]",
                      "env.step_penalty=0.01", "memory.bank.index=ivf", "memory.bank.capacity=8",
                      "+memory.bank.ivf={nlist: 4, nprobe: 2}"])
    assert cfg.maze.goal == (1, 1) and cfg.maze.step_penalty == 0.01  # any env field, no `+`
    assert cfg.algo.num_minibatches == 16


def test_yes_and_no_are_read_as_booleans_on_the_command_line():
    """Hydra's bool nodes read yes/no as YAML does; before the schema "no" reached the env
    as a non-empty string and switched see_through_walls on."""
    assert run_config(["+experiment=smoke", "env.see_through_walls=no"]).maze.see_through_walls is False
    assert run_config(["+experiment=smoke", "env.see_through_walls=yes"]).maze.see_through_walls is True


# Mappings that do not come through Hydra (a config.yaml read back, a script) are type-checked
# by the dataclasses themselves.
@pytest.mark.parametrize("override,match", [
    (dict(n_mazes=2.5), r"n_mazes=2.5 is not allowed: must be an int"),
    (dict(total_steps=1e5), r"total_steps=100000.0 is not allowed: must be an int"),
    (dict(seed=True), r"seed=True is not allowed: must be an int"),
    (dict(resume="maybe"), r"resume='maybe' is not allowed: must be a bool"),
    (dict(algo=dict(num_steps=2.5)), r"algo.num_steps=2.5 is not allowed: must be an int"),
    (dict(algo=dict(learning_rate=float("nan"))), r"algo.learning_rate=nan is not allowed: must be a finite number"),
    (dict(eval=dict(greedy="no")), r"eval.greedy='no' is not allowed: must be a bool"),
    (dict(memory=dict(k="8")), r"memory.k='8' is not allowed: must be an int"),
    (dict(env=dict(see_through_walls="no")), r"env: see_through_walls='no' must be a bool"),
    (dict(env=dict(rows=3.5)), r"env: rows=3.5 must be an int"),
    (dict(memory=dict(bank=dict(capacity=8.0))), r"memory.bank .*capacity=8.0 must be an int"),
])
def test_wrong_types_in_plain_mappings_are_named(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        tiny_config(tmp_path, **override)


def test_schema_env_defaults_are_maze_config_defaults():
    assert asdict(TrainSchema().env) == asdict(MazeConfig())


@pytest.mark.parametrize("cores,runs,threads", [
    (2, 2, 1), (2, 1, 1), (1, 1, 1), (1, 4, 1), (8, 16, 1), (16, 1, 15), (16, 2, 7), (4, 1, 3)])
def test_default_threads_leave_a_core_and_never_oversubscribe(cores, runs, threads):
    assert default_torch_threads(cores, runs) == threads
    assert threads * runs <= max(cores - 1, runs)  # one per run at the very least


@pytest.mark.parametrize("launcher,runs", [
    ({}, 1),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}, 2),
    ({"n_jobs": -1}, 8), ({"n_jobs": -2}, 7), ({"n_jobs": -20}, 1), ({"n_jobs": None}, 1),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
      "array_parallelism": 256}, 256),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
      "array_parallelism": 256}, 1),
])
def test_runs_at_once_reads_the_launcher(launcher, runs):
    assert runs_at_once(launcher, cores=8) == runs


def test_resolved_threads_are_used_and_recorded(tmp_path):
    assert resolve_torch_threads(3) == 3
    assert resolve_torch_threads(0) == default_torch_threads(available_cores(), 1)  # not a multirun
    cfg = tiny_config(tmp_path, total_steps=4 * 4 * 16, eval=dict(every=0, episodes=1, visits=1),
                      log=dict(images_every=0, checkpoint_every=0, progress=False))
    assert cfg.torch_threads == 0
    before = torch.get_num_threads()
    try:
        train(cfg)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert used == resolve_torch_threads(0)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["torch_threads"] == used


def test_culture_is_the_memory_task_with_the_ctm_at_the_main_jobs_ppo_settings():
    culture, small, main = composed("culture"), composed("memory_small"), composed("compare")
    assert culture["agent"]["_target_"] == "agents.CTMAgent" and culture["agent"]["memory_prior"] is False
    assert culture["env"] == small["env"] and culture["memory"] == small["memory"]
    assert culture["memory"]["content"]["kind"] == "outcome"
    assert culture["total_steps"] == main["total_steps"]
    assert culture["algo"] == main["algo"]     # trunk_lr_scale null there too: the agent's own (ctm_small: 0.25)
    ev = run_config(["+experiment=culture"]).eval
    assert (ev.visits, ev.newcomer, ev.random_writers) == (3, True, True)
    assert culture["hydra"]["sweeper"]["params"] == {"memory": "none,solo,shared", "seed": "0,1,2"}


def test_culture_stores_never_fill_so_shared_cannot_win_by_holding_more():
    # The equal-capacity control holds by construction: a solo agent's store is as large as a
    # maze's shared store (four times the maze's shared capacity in all), and even the shared
    # store can hold every entry that all agents write on one layout in training or evaluation.
    cfg = run_config(["+experiment=culture"])
    plays = max(cfg.maze.episodes_per_layout, cfg.eval.visits + cfg.eval.newcomer)
    most_written = cfg.maze.n_agents * cfg.maze.horizon * plays
    assert cfg.memory.bank["capacity"] >= most_written
    assert run_config(["+experiment=culture", "memory=solo"]).memory.bank == cfg.memory.bank


def test_maze_train_with_no_arguments_writes_entries_a_reader_can_use():
    assert run_config([]).memory.content["kind"] == "outcome"
    assert composed("compare")["memory"]["content"]["kind"] == "representation"   # as it was measured
