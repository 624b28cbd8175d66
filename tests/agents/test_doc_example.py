"""The example agent in docs/agents.md, executed and trained exactly as printed there."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import hydra.utils
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from tests.agents.helpers import OBS_SHAPE, make_obs, make_recall

DOC = Path(__file__).resolve().parents[2] / "docs" / "agents.md"


def doc_block(marker: str, lang: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```{lang}\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"no ```{lang} block after <!-- {marker} --> in {DOC.name}"
    return match.group(1)


@pytest.fixture
def example_module():
    """Load the doc's code as the module `my_agents`, the name its YAML `_target_` uses."""
    module = types.ModuleType("my_agents")
    exec(compile(doc_block("example-agent", "python"), str(DOC), "exec"), module.__dict__)
    sys.modules["my_agents"] = module
    yield module
    del sys.modules["my_agents"]


def test_example_reads_memory_as_the_protocol_asks(example_module):
    """An empty read leaves the policy as no read does, a filled one changes it, and queries
    have unit length (the contract every shipped agent is held to)."""
    agent = hydra.utils.instantiate(OmegaConf.create(doc_block("example-config", "yaml")),
                                    obs_shape=OBS_SHAPE, n_actions=5)
    B = 6
    obs, state = make_obs(B), agent.initial_state(B, "cpu")
    with torch.no_grad():
        alone = agent(obs, state, None)
        empty = agent(obs, state, make_recall(B, 4, agent.key_dim, agent.value_dim, p_valid=0.0))
        filled = agent(obs, state, make_recall(B, 4, agent.key_dim, agent.value_dim, p_valid=1.0))
    torch.testing.assert_close(empty.logits, alone.logits)
    torch.testing.assert_close(empty.value, alone.value)
    assert not torch.allclose(filled.logits, alone.logits)
    torch.testing.assert_close(alone.query.norm(dim=-1), torch.ones(B))


@pytest.mark.parametrize("memory", [True, False])
def test_example_agent_trains_from_its_yaml(example_module, memory):
    cfg = OmegaConf.create(doc_block("example-config", "yaml"))
    if not memory:
        cfg.key_dim = cfg.value_dim = 0
    agent = hydra.utils.instantiate(cfg, obs_shape=OBS_SHAPE, n_actions=5)
    assert type(agent).__name__ == "TinyGRUAgent" and agent.recurrent
    B = 16
    opt = torch.optim.Adam(agent.parameters(), lr=1e-2)
    obs = make_obs(B)
    target = obs[:, 0].flatten(1).float().sum(-1).long() % 5      # any fixed function of the view
    recall = make_recall(B, 4, 64, 64) if memory else None
    losses = []
    for _ in range(15):
        state = agent.initial_state(B, "cpu")
        for _ in range(2):   # two steps so the gradient crosses the recurrent state
            out = agent(obs, state, recall)
            state = out.state
        loss = F.cross_entropy(out.logits, target) + out.value.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    assert (out.query is not None) == memory and (out.write is not None) == memory
    done = torch.zeros(B, dtype=torch.bool)
    done[::2] = True
    reset = agent.reset_state(state, done)
    assert torch.equal(reset["h"][1::2], state["h"][1::2]) and (reset["h"][::2] == 0).all()
