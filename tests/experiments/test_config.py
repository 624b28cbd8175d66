"""Bad configuration values fail at start-up, naming the key, the value and what is allowed."""
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from experiments.config import ConfigError, TrainConfig
from experiments.train import make_agent, resolve_device
from tests.experiments.helpers import CONFIGS, tiny_config


@pytest.mark.parametrize("override,match", [
    (dict(algo=dict(clip_coef=-0.1)), r"algo.clip_coef=-0.1 is not allowed: > 0"),
    (dict(algo=dict(gamma=1.5)), r"algo.gamma=1.5"),
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


def test_every_preset_composes_and_validates(tmp_path):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        for overrides in ([], ["+experiment=smoke"], ["+experiment=compare"], ["+experiment=gpu"],
                          ["agent=lstm", "memory=solo"], ["agent=gru", "memory=none"],
                          ["agent=feedforward"], ["agent=random"]):
            raw = compose(config_name="train", overrides=overrides + [f"run_dir={tmp_path}"])
            raw = OmegaConf.to_container(raw, resolve=True)
            cfg = TrainConfig.from_dict(raw)
            assert cfg.memory.mode in ("none", "solo", "shared")
