"""Small configs for trainer tests: fast on a CPU, every part switched on."""
from pathlib import Path

import torch
import yaml
from omegaconf import OmegaConf

from agents.params import load_config
from experiments.build import build_run
from experiments.config import TrainConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def tiny_config(run_dir, memory_preset: str = "shared", agent_preset: str = "ctm_small", **overrides) -> TrainConfig:
    env = yaml.safe_load((CONFIGS / "env" / "default.yaml").read_text())
    env.update(rows=3, cols=3, max_steps=24)
    raw = dict(
        env=env,
        agent=OmegaConf.to_container(load_config(CONFIGS / "agent" / f"{agent_preset}.yaml")),
        memory=yaml.safe_load((CONFIGS / "memory" / f"{memory_preset}.yaml").read_text()),
        algo=dict(num_steps=16, num_minibatches=2, update_epochs=1),
        eval=dict(every=2, episodes=2, visits=2),
        log=dict(images_every=2, checkpoint_every=1, progress=False),
        total_steps=4 * 4 * 16 * 3, n_mazes=4, device="cpu", run_dir=str(run_dir),
    )
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return TrainConfig.from_dict(raw)


def build_collector(tmp_path, memory="shared", agent="ctm_small", seed=0, device="cpu", content=None):
    """(config, agent, started Collector) of a tiny config on `device`, built as training builds
    it; `content` a memory.content mapping (default: the agent's own write requests)."""
    extra = {"memory": {"content": content}} if content else {}
    cfg = tiny_config(tmp_path, memory_preset=memory, agent_preset=agent, seed=seed, device=device, **extra)
    run = build_run(cfg, torch.device(device))
    run.collector.start(seed)
    return cfg, run.agent, run.collector
