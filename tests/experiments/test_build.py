"""One run builder: every caller gets the same parts, joined to each other, made one way."""
import pytest
import torch

from experiments.build import build_run, make_optimizer, set_learning_rate
from experiments.config import ConfigError
from experiments.main import run_config
from experiments.ppo import update
from tests.experiments.helpers import tiny_config

CPU = torch.device("cpu")


@pytest.mark.parametrize("reward_scale", ["return", "none"])
def test_the_parts_share_one_env_agent_and_bank(tmp_path, reward_scale):
    run = build_run(tiny_config(tmp_path, algo=dict(reward_scale=reward_scale)), CPU)
    collector = run.collector
    assert collector.env is run.env and collector.agent is run.agent and collector.bank is run.bank
    assert run.bank is not None and run.content is collector.content and run.content.bank is run.bank
    assert collector.generator is run.sampler and collector.reward_scale is run.scale
    assert (run.scale is None) == (reward_scale == "none")
    optimised = [id(p) for group in run.optimizer.param_groups for p in group["params"]]
    assert sorted(optimised) == sorted(id(p) for p in run.agent.parameters())


def test_every_caller_gets_the_trainers_optimiser(tmp_path):
    group = build_run(tiny_config(tmp_path, algo=dict(learning_rate=1e-3)), CPU).optimizer.param_groups[0]
    assert group["eps"] == 1e-5 and group["lr"] == 1e-3


def test_trunk_lr_scale_gives_the_heads_the_rate_and_the_trunk_its_multiple(tmp_path):
    run = build_run(tiny_config(tmp_path, algo=dict(learning_rate=2e-3, trunk_lr_scale=0.25)), CPU)
    heads, trunk = run.optimizer.param_groups
    named = dict(run.agent.named_parameters())
    head_names = {n for n in named if n.split(".")[0] in ("actor", "critic")}
    assert {id(p) for p in heads["params"]} == {id(named[n]) for n in head_names}
    assert {id(p) for p in trunk["params"]} == {id(named[n]) for n in set(named) - head_names}
    assert heads["lr"] == 2e-3 and trunk["lr"] == pytest.approx(5e-4)
    set_learning_rate(run.optimizer, 1e-3)            # annealing keeps the ratio
    assert heads["lr"] == 1e-3 and trunk["lr"] == pytest.approx(2.5e-4)


def test_the_agents_own_trunk_scale_applies_unless_the_run_sets_one(tmp_path):
    def rates(agent_preset, **algo):
        cfg = tiny_config(tmp_path, agent_preset=agent_preset, algo=dict(learning_rate=2e-3, **algo))
        return [group["lr"] for group in build_run(cfg, CPU).optimizer.param_groups]

    assert rates("ctm_small") == [2e-3, pytest.approx(5e-4)]       # ctm_small.yaml: 0.25
    assert rates("ctm_small", trunk_lr_scale=1.0) == [2e-3]
    assert rates("ctm_small", trunk_lr_scale=0.5) == [2e-3, pytest.approx(1e-3)]
    assert rates("ctm") == rates("lstm") == [2e-3]                  # agents that set none: 1


class Headless(torch.nn.Linear):
    trunk_lr_scale = 0.5


@pytest.mark.parametrize("algo,source", [(dict(trunk_lr_scale=0.5), "algo"), (dict(), "agent")])
def test_trunk_lr_scale_needs_heads_to_tell_apart(tmp_path, algo, source):
    cfg = tiny_config(tmp_path, algo=algo)
    with pytest.raises(ConfigError, match=rf"{source}.trunk_lr_scale=0.5 needs parameters named actor.\* / "
                                          r"critic.\*.*Headless has 0 head and 2 trunk parameters"):
        make_optimizer(cfg, Headless(3, 2))


def test_the_same_config_builds_the_same_weights(tmp_path):
    first, second = (build_run(tiny_config(tmp_path), CPU).agent.state_dict() for _ in range(2))
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_a_loaded_bank_is_the_one_the_collector_and_content_hold(tmp_path):
    cfg = tiny_config(tmp_path)
    saved = build_run(cfg, CPU).bank
    run = build_run(cfg, CPU, load_bank=lambda: saved)
    assert run.bank is saved and run.collector.bank is saved and run.content.bank is saved


def test_an_agent_without_memory_loads_no_bank(tmp_path):
    def load_bank():
        raise AssertionError("an agent without memory has no bank to load")

    run = build_run(tiny_config(tmp_path, agent=dict(key_dim=0, value_dim=0)), CPU, load_bank=load_bank)
    assert run.bank is None and run.content is None and run.make_bank(3) is None


def test_a_compiled_agent_acts_and_learns_as_the_eager_one(tmp_path):
    eager, compiled = (build_run(tiny_config(tmp_path, compile=flag), CPU) for flag in (False, True))
    assert compiled.agent._compiled_call_impl is not None and eager.agent._compiled_call_impl is None
    assert list(compiled.agent.state_dict()) == list(eager.agent.state_dict())   # checkpoints load either way
    for run in (eager, compiled):
        run.collector.start(0)
    rollouts = [run.collector.collect(16) for run in (eager, compiled)]
    # The same weights and draws: the acting pass differs by rounding only.
    assert torch.allclose(rollouts[0].values, rollouts[1].values, atol=1e-5)
    assert torch.allclose(rollouts[0].logprobs, rollouts[1].logprobs, atol=1e-5)
    cfg = tiny_config(tmp_path).algo
    stats = [update(run.agent, run.optimizer, rollouts[0], cfg, torch.Generator().manual_seed(1))
             for run in (eager, compiled)]
    assert stats[0]["policy_loss"] == pytest.approx(stats[1]["policy_loss"], abs=1e-5)
    after = [dict(run.agent.named_parameters()) for run in (eager, compiled)]
    assert all(torch.allclose(after[0][name], after[1][name], atol=1e-5) for name in after[0])


def test_the_gpu_preset_builds_and_learns_on_the_cpu(tmp_path):
    """Every GPU path has a CPU path: the GPU preset's own run, one maze, eager. From random spawns
    on 8x8 cells the goal is rarely within 8 steps, so the rewards of its first rollout are the
    explore bonus paid for new squares, which the preset turns on."""
    overrides = ["+experiment=gpu", "device=cpu", "compile=false", "n_mazes=1", f"run_dir={tmp_path}"]
    cfg = run_config(overrides)
    assert (cfg.maze.rows, cfg.maze.explore_bonus, cfg.algo.num_steps) == (8, 0.01, 8)
    assert [g["lr"] for g in build_run(cfg, CPU).optimizer.param_groups] == [2e-3, pytest.approx(5e-4)]
    counts = {}
    for bonus in (0.01, 0.0):
        run = build_run(run_config(overrides + [f"env.explore_bonus={bonus}"]), CPU)
        run.collector.start(0)
        rollout = run.collector.collect(cfg.algo.num_steps)
        counts[bonus] = int((rollout.rewards > 0).sum())
        stats = update(run.agent, run.optimizer, rollout, cfg.algo, torch.Generator().manual_seed(0))
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in stats.values())
    assert counts[0.0] <= cfg.maze.n_agents < counts[0.01]   # at most one goal per agent
