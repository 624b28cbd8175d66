"""Small configs for trainer tests: fast on a CPU, every part switched on."""
import yaml
from pathlib import Path

from experiments.config import TrainConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def tiny_config(run_dir, memory_preset: str = "shared", agent_preset: str = "ctm_small", **overrides) -> TrainConfig:
    env = yaml.safe_load((CONFIGS / "env" / "default.yaml").read_text())
    env.update(rows=3, cols=3, max_steps=24)
    raw = dict(
        env=env,
        agent=yaml.safe_load((CONFIGS / "agent" / f"{agent_preset}.yaml").read_text()),
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
