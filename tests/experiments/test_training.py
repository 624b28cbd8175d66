"""The trainer end to end: events and tags, the PPO ratio check, memory modes in the loop."""
import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from experiments.checkpoint import latest, load_state
from experiments.ppo import update
from experiments.train import train
from tests.experiments.helpers import build_collector, tiny_config

REQUIRED_TAGS = [
    "charts/episodic_return", "charts/episodic_length", "charts/success_rate", "charts/SPS",
    "charts/steps_to_goal_over_bfs", "losses/policy_loss", "losses/value_loss", "losses/entropy",
    "losses/approx_kl", "losses/clipfrac", "memory/size", "memory/reads", "memory/writes",
    "memory/top1_similarity", "memory/retrieved_age", "memory/cultural_share", "ctm/ticks_used",
    "ctm/certainty", "eval/success_rate", "eval/visit_1/success_rate", "eval/visit_2/success_rate",
]


def test_smoke_run_writes_events_with_required_tags(tmp_path):
    cfg = tiny_config(tmp_path, env=dict(max_steps=8, rows=2, cols=2), log=dict(video_every=2))
    final = train(cfg)
    acc = EventAccumulator(str(tmp_path), size_guidance={"images": 0})
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    missing = [t for t in REQUIRED_TAGS if t not in scalars]
    assert not missing, f"missing tags {missing}; have {sorted(scalars)}"
    assert {"maze/trajectories", "maze/visitation", "memory/write_locations",
            "maze/episode_filmstrip"} <= set(acc.Tags()["images"])
    assert list((tmp_path / "videos").glob("*.gif"))
    assert json.loads((tmp_path / "results.json").read_text())["global_step"] == final["global_step"]
    assert (tmp_path / "config.yaml").exists()
    assert [start["start_update"] for start in json.loads((tmp_path / "machine.json").read_text())] == [0]
    assert (tmp_path / "checkpoints" / "latest").exists()


def test_annealing_keeps_the_trunks_share_of_the_learning_rate(tmp_path):
    cfg = tiny_config(tmp_path, memory_preset="none", algo=dict(learning_rate=1e-3, trunk_lr_scale=0.25),
                      log=dict(images_every=0))
    train(cfg)
    heads, trunk = load_state(latest(tmp_path), "cpu")["optimizer"]["param_groups"]
    last = 1e-3 * (1 - (cfg.num_updates - 1) / cfg.num_updates)   # the rate of the last update
    assert heads["lr"] == pytest.approx(last) and trunk["lr"] == pytest.approx(0.25 * last)


def build(tmp_path, memory="shared", agent="ctm_small", seed=0):
    return build_collector(tmp_path, memory, agent, seed)


@pytest.mark.parametrize("agent", ["ctm_small", "lstm"])
def test_first_minibatch_ratio_is_one(tmp_path, agent):
    """The update replays exactly what the policy saw: same states, resets and memory."""
    cfg, net, collector = build(tmp_path, agent=agent)
    rollout = collector.collect(40)
    assert rollout.starts[1:].any(), "the rollout should cross an episode boundary"
    assert rollout.recall.mask.any(), "memory should hold entries during the rollout"
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    stats = update(net, optimizer, rollout, cfg.algo, torch.Generator().manual_seed(0))
    assert stats["first_ratio"] == pytest.approx(1.0, abs=1e-5)
    assert abs(stats["first_approx_kl"]) < 1e-6


@pytest.mark.parametrize("mode", ["solo", "shared"])
def test_memory_modes_change_what_is_retrieved(tmp_path, mode):
    _, _, collector = build(tmp_path, memory=mode)
    rollout = collector.collect(40)
    recall = rollout.recall                       # fields (T, B*N, k)
    N = collector.N
    reader = (torch.arange(collector.R) % N).view(1, -1, 1).expand_as(recall.writers)
    valid = recall.mask
    assert valid.any()
    foreign = valid & (recall.writers != reader)
    if mode == "solo":
        assert not foreign.any()
    else:
        assert foreign.any()


def test_no_memory_retrieves_nothing(tmp_path):
    _, _, collector = build(tmp_path, memory="none")
    rollout = collector.collect(10)
    assert not rollout.recall.mask.any()


@pytest.mark.parametrize("agent", ["ctm_small", "lstm"])
def test_first_minibatch_ratio_is_one_with_the_memory_prior(tmp_path, agent):
    """The prior reads the replayed entries, so the update sees the logits the policy acted on."""
    from experiments.build import build_run

    cfg = tiny_config(tmp_path, agent_preset=agent, agent={"memory_prior": True},
                      memory={"content": {"kind": "outcome"}})
    run = build_run(cfg, torch.device("cpu"))
    run.collector.start(0)
    rollout = run.collector.collect(40)
    assert run.agent.prior is not None and rollout.recall.mask.any()
    optimizer = torch.optim.Adam(run.agent.parameters(), lr=1e-3)
    stats = update(run.agent, optimizer, rollout, cfg.algo, torch.Generator().manual_seed(0))
    assert stats["first_ratio"] == pytest.approx(1.0, abs=1e-5)
    assert all(p.grad is not None for p in run.agent.prior.parameters())


def test_the_random_writer_control_runs_once_at_the_end(tmp_path):
    cfg = tiny_config(tmp_path, memory={"content": {"kind": "outcome"}}, log=dict(images_every=0),
                      eval=dict(newcomer=True, random_writers=True))
    final = train(cfg)
    assert 0.0 <= final["eval_random_writers/newcomer/success_rate"] <= 1.0
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    [event] = acc.Scalars("eval_random_writers/newcomer/success_rate")   # the last update's only
    assert event.step == final["global_step"]
