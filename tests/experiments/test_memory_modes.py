"""A sharing pattern registered in a user's module is usable from a config (memory.plugins,
memory.mode) and logged under the same memory/* names as the built-in ones."""
import json
import sys

import pytest
import torch

from experiments import checkpoint
from experiments.config import ConfigError
from experiments.main import run_config
from experiments.train import train
from memory import MemoryBank, team_map
from memory.mapping import MAPPINGS
from memory.stats import LOGGED
from tests.experiments.helpers import tiny_config

PLUGIN = "tests.experiments.pairs_mapping"


@pytest.fixture
def forget_pairs():
    """Each test imports the plugin itself; afterwards "pairs" is unknown again, so no other
    test sees it (and none passes only because this one ran first)."""
    assert "pairs" not in MAPPINGS
    yield
    MAPPINGS.pop("pairs", None)
    sys.modules.pop(PLUGIN, None)


def test_a_registered_mode_is_unknown_until_its_plugin_is_named(tmp_path, forget_pairs):
    with pytest.raises(ConfigError, match=r"memory.mode='pairs' is not allowed: one of "
                                          r"\['none', 'solo', 'shared'\] \(more with memory.plugins"):
        tiny_config(tmp_path, memory=dict(mode="pairs"))
    cfg = tiny_config(tmp_path, memory=dict(mode="pairs", plugins=[PLUGIN]))
    assert cfg.memory.mode == "pairs" and "pairs" in MAPPINGS


def test_plugins_are_named_when_they_cannot_be_imported(tmp_path):
    with pytest.raises(ConfigError, match=r"memory.plugins: cannot import 'no_such.module'"):
        tiny_config(tmp_path, memory=dict(plugins=["no_such.module"]))
    with pytest.raises(ConfigError, match=r"memory.plugins='my_module' is not allowed: a list of module names"):
        tiny_config(tmp_path, memory=dict(plugins="my_module"))


def test_the_command_line_imports_plugins_before_checking_the_mode(forget_pairs):
    cfg = run_config(["+experiment=smoke", f"memory.plugins=[{PLUGIN}]", "memory.mode=pairs"])
    assert cfg.memory.mode == "pairs" and cfg.memory.plugins == [PLUGIN]


def test_a_run_with_a_registered_mode_uses_it_and_logs_its_memory(tmp_path, forget_pairs):
    cfg = tiny_config(tmp_path, memory=dict(mode="pairs", plugins=[PLUGIN]), total_steps=4 * 4 * 16,
                      eval=dict(every=0, episodes=2, visits=1), log=dict(images_every=0, checkpoint_every=0))
    train(cfg)
    results = json.loads((tmp_path / "results.json").read_text())
    for name in LOGGED:
        assert f"memory/{name}" in results and f"eval/memory/{name}" in results
    assert {f"memory/writes_agent_{i}" for i in range(4)} <= set(results)
    # The bank of the run: two stores per maze, each written by its pair of agents only.
    bank = MemoryBank.load(checkpoint.latest(tmp_path) / "memory.bank")
    assert bank.config.mode == "pairs" and bank.n_stores == cfg.n_mazes * 2
    assert torch.equal(bank.store_of, team_map(cfg.n_mazes, 4, team_size=2))
    sizes = bank.sizes()
    assert (sizes > 0).all()
    for store in range(bank.n_stores):
        writers = bank.ring.writer[store, :sizes[store]]
        assert set((writers // 2).tolist()) == {store % 2}, (store, writers)
    assert 0.0 < results["memory/cultural_share"] < 1.0       # partners read each other's entries
