"""CUDA paths give the results of the CPU paths (skipped without a GPU; CI has none)."""
import pytest
import torch

from agents.params import build_from_config
from envs import BatchedMazeEnv
from experiments.ppo import update
from experiments.train import train
from memory import MemoryBank
from tests.agents.helpers import CONFIG_DIR, OBS_SHAPE, make_obs, make_recall
from tests.experiments.helpers import build_collector, tiny_config

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_batched_env_on_cuda_matches_cpu():
    options = dict(n_agents=4, n_landmarks=4, braid=0.3, max_steps=30, spawn="random")
    envs = {d: BatchedMazeEnv(16, device=d, **options) for d in ("cpu", "cuda")}
    out = {d: env.reset(seed=5) for d, env in envs.items()}
    g = torch.Generator().manual_seed(0)
    resets = 0
    for t in range(400):
        (obs_c, info_c), (obs_g, info_g) = out["cpu"][:2], out["cuda"][:2]
        assert torch.equal(obs_c, obs_g.cpu()), f"step {t}"
        for key in ("position", "distance", "alive", "episode_index", "layout_id"):
            assert torch.equal(info_c[key], info_g[key].cpu()), f"step {t} info {key}"
        actions = torch.randint(0, 5, (16, 4), generator=g)
        out = {d: env.step(actions.to(d)) for d, env in envs.items()}
        obs_c, rew_c, term_c, trunc_c, info_c = out["cpu"]
        obs_g, rew_g, term_g, trunc_g, info_g = out["cuda"]
        assert torch.equal(term_c, term_g.cpu()) and torch.equal(trunc_c, trunc_g.cpu()), f"step {t}"
        # the time-decayed goal reward may round differently in the last bit on CUDA
        torch.testing.assert_close(rew_c, rew_g.cpu(), atol=1e-6, rtol=0)
        resets += int(info_c["reset"].sum())
        out = {"cpu": (obs_c, info_c), "cuda": (obs_g, info_g)}
    assert resets > 16


@pytest.mark.parametrize("mode,eviction", [("solo", "fifo"), ("shared", "lru")])
def test_bank_on_cuda_retrieves_what_cpu_retrieves(mode, eviction):
    B, N, D, k = 6, 3, 16, 5
    banks = {d: MemoryBank(mode, "layout", B, N, D, D, capacity=20, eviction=eviction, device=d)
             for d in ("cpu", "cuda")}
    g = torch.Generator().manual_seed(1)
    for step in range(30):
        keys, values = torch.randn(B, N, D, generator=g), torch.randn(B, N, D, generator=g)
        mask = torch.rand(B, N, generator=g) < 0.8
        queries = torch.randn(B, N, D, generator=g)
        meta = {"episode": torch.zeros(B, N, dtype=torch.int64), "step": torch.full((B, N), step)}
        recalls = {}
        for d, bank in banks.items():
            bank.write(keys.to(d), values.to(d), meta, mask.to(d))
            recalls[d] = bank.read(queries.to(d), k)
        cpu, gpu = recalls["cpu"], recalls["cuda"].map(lambda t: t.cpu())
        assert torch.equal(cpu.mask, gpu.mask) and torch.equal(cpu.ids, gpu.ids)
        assert torch.equal(cpu.writers, gpu.writers)
        torch.testing.assert_close(cpu.scores, gpu.scores, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(cpu.values, gpu.values)


@pytest.mark.parametrize("name", ["ctm_small", "lstm"])
def test_agent_on_cuda_matches_cpu(name):
    torch.manual_seed(0)
    cpu_agent = build_from_config(CONFIG_DIR / f"{name}.yaml", OBS_SHAPE, 5)
    gpu_agent = build_from_config(CONFIG_DIR / f"{name}.yaml", OBS_SHAPE, 5).cuda()
    gpu_agent.load_state_dict(cpu_agent.state_dict())
    obs = make_obs(7)
    recall = make_recall(7, 4, cpu_agent.key_dim, cpu_agent.value_dim)
    state_c, state_g = cpu_agent.initial_state(7, "cpu"), gpu_agent.initial_state(7, "cuda")
    for _ in range(3):
        out_c = cpu_agent(obs, state_c, recall)
        out_g = gpu_agent(obs.cuda(), state_g, recall.map(lambda t: t.cuda()))
        torch.testing.assert_close(out_c.logits, out_g.logits.cpu(), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(out_c.value, out_g.value.cpu(), atol=1e-4, rtol=1e-4)
        state_c, state_g = out_c.state, out_g.state


def test_training_on_cuda_replays_exactly_and_runs_end_to_end(tmp_path):
    cfg, net, collector = build_collector(tmp_path, device="cuda")
    rollout = collector.collect(40)
    assert rollout.recall.mask.any()
    stats = update(net, torch.optim.Adam(net.parameters(), lr=1e-3), rollout, cfg.algo,
                   torch.Generator().manual_seed(0))
    assert stats["first_ratio"] == pytest.approx(1.0, abs=1e-5)
    final = train(tiny_config(tmp_path / "run", device="cuda"))
    assert final["global_step"] == cfg.total_steps
