"""The protocol, checked for every config in configs/agent/ (a new YAML is checked at once)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from agents import Agent, AgentOutput, WriteRequest
from tests.agents.helpers import CONFIGS, build, make_obs, make_recall, untrained_parameters


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("memory", [True, False])
@pytest.mark.parametrize("batch", [1, 7])
def test_shapes_and_dtypes(name, memory, batch):
    agent = build(name, memory)
    assert isinstance(agent, Agent)
    assert isinstance(agent.recurrent, bool)
    state = agent.initial_state(batch, "cpu")
    recall = make_recall(batch, 4, agent.key_dim, agent.value_dim) if memory else None
    out = agent(make_obs(batch), state, recall)
    assert isinstance(out, AgentOutput)
    assert out.logits.shape == (batch, 5) and out.logits.dtype == torch.float32
    assert out.value.shape == (batch,) and out.value.dtype == torch.float32
    assert set(out.state) == set(state)
    for key, value in out.state.items():
        assert value.shape == state[key].shape and value.shape[0] == batch
        assert value.dtype == torch.float32
    if memory:
        Dk, Dv = agent.key_dim, agent.value_dim
        assert Dk > 0 and Dv > 0
        assert out.query.shape == (batch, Dk) and out.query.dtype == torch.float32
        assert isinstance(out.write, WriteRequest)
        assert out.write.keys.shape == (batch, Dk) and out.write.values.shape == (batch, Dv)
        torch.testing.assert_close(out.query.norm(dim=-1), torch.ones(batch))
    else:
        assert (agent.key_dim, agent.value_dim) == (0, 0)
        assert out.query is None and out.write is None
    for value in out.aux.values():
        assert value.shape[0] == batch
    assert torch.isfinite(out.logits).all() and torch.isfinite(out.value).all()


@pytest.mark.parametrize("name", CONFIGS)
def test_all_invalid_recall_equals_no_recall(name):
    """An empty read must not change the policy (mode 'none' vs a store with nothing yet)."""
    agent = build(name)
    obs = make_obs(3)
    state = agent.initial_state(3, "cpu")
    with torch.no_grad():
        a = agent(obs, state, None)
        b = agent(obs, state, make_recall(3, 4, agent.key_dim, agent.value_dim, p_valid=0.0))
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.value, b.value)


@pytest.mark.parametrize("name", CONFIGS)
def test_masked_entries_are_ignored(name):
    agent = build(name)
    obs, recall = make_obs(5), make_recall(5, 6, agent.key_dim, agent.value_dim, seed=1)
    g = torch.Generator().manual_seed(3)
    invalid = ~recall.mask
    noisy = type(recall)(keys=recall.keys + torch.randn(recall.keys.shape, generator=g) * invalid.unsqueeze(-1),
                         values=recall.values + torch.randn(recall.values.shape, generator=g) * invalid.unsqueeze(-1),
                         scores=recall.scores + invalid.float(), mask=recall.mask, ids=recall.ids,
                         writers=recall.writers)
    state = agent.initial_state(5, "cpu")
    with torch.no_grad():
        torch.testing.assert_close(agent(obs, state, recall).logits, agent(obs, state, noisy).logits)


@pytest.mark.parametrize("name", CONFIGS)
def test_reset_state_touches_exactly_the_done_rows(name):
    agent = build(name)
    B = 7
    state = agent.initial_state(B, "cpu")
    with torch.no_grad():
        for step in range(3):
            state = agent(make_obs(B, seed=step), state, make_recall(B, 4, agent.key_dim, agent.value_dim, seed=step)).state
    done = torch.tensor([True, False, False, True, False, True, False])
    reset = agent.reset_state(state, done)
    fresh = agent.initial_state(B, "cpu")
    for key in state:
        assert torch.equal(reset[key][~done], state[key][~done]), key
        assert torch.equal(reset[key][done], fresh[key][done].detach()), key
        # The test is only meaningful if stepping moved the state away from the start.
        assert not torch.equal(state[key][done], fresh[key][done])
    if not agent.recurrent:
        assert state == {}


@pytest.mark.parametrize("name", CONFIGS)
def test_deterministic_with_fixed_seed(name):
    outs = []
    for _ in range(2):
        torch.manual_seed(123 + len(outs))   # global RNG differs between builds: must not matter
        agent = build(name, seed=7)
        state = agent.initial_state(4, "cpu")
        with torch.no_grad():
            for step in range(3):
                out = agent(make_obs(4, seed=step), state, make_recall(4, 3, agent.key_dim, agent.value_dim, seed=step))
                state = out.state
        outs.append(out)
    torch.testing.assert_close(outs[0].logits, outs[1].logits, rtol=0, atol=0)
    torch.testing.assert_close(outs[0].value, outs[1].value, rtol=0, atol=0)
    for key in outs[0].state:
        torch.testing.assert_close(outs[0].state[key], outs[1].state[key], rtol=0, atol=0)


def test_different_seeds_differ():
    a, b = build("ctm", seed=0), build("ctm", seed=1)
    assert not torch.equal(a.actor[0].weight, b.actor[0].weight)
    # first-last pairs are fixed by construction; random pairs come from the seed
    a, b = build("ctm", seed=0, neuron_select="random"), build("ctm", seed=1, neuron_select="random")
    assert not torch.equal(a.sync_out.left, b.sync_out.left)


@pytest.mark.parametrize("name", CONFIGS)
def test_bad_inputs_are_rejected_with_the_value(name):
    agent = build(name)
    state = agent.initial_state(2, "cpu")
    with pytest.raises(ValueError, match="uint8"):
        agent(make_obs(2).float(), state)
    with pytest.raises(ValueError, match=r"\(2, 6, 4, 4\)"):
        agent(torch.zeros(2, 6, 4, 4, dtype=torch.uint8), state)
    with pytest.raises(ValueError, match="flatten"):
        agent(make_obs(2), state, make_recall(2, 3, agent.key_dim + 1, agent.value_dim))
    if agent.recurrent:
        with pytest.raises(ValueError, match="starts must be bool"):
            agent.reset_state(state, torch.zeros(3, dtype=torch.bool))


def test_agents_import_neither_envs_nor_experiments_nor_memory_internals():
    """Agents see memory through ReadAttention and the outcome-label vocabulary only."""
    root = Path(__file__).resolve().parents[2] / "agents"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.module == "memory":
                    assert [a.name for a in node.names] == ["ReadAttention"], path
            for name in names:
                top = name.split(".")[0]
                assert top not in ("envs", "experiments", "faiss"), (path, name)
                assert not name.startswith("memory.") or name == "memory.outcome", (path, name)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_parameter_of_each_shipped_config_is_trained(name):
    """A PPO-style loss over a few steps (so gradients cross the recurrent state and the
    synchronisation window) reaches every parameter of the agent exactly as its YAML ships it.
    A dead parameter here (e.g. a decay that a one-step window never reads) is a silent defect."""
    agent = build(name)
    if not list(agent.parameters()):
        pytest.skip(f"{name} has no parameters")
    dead = untrained_parameters(agent, batch=6, steps=4)
    assert not dead, f"{name}: no gradient reaches {dead}"


def test_reference_head_initialisation():
    """out_std: orthogonal weights (gain sqrt 2 inside, out_std last) and zero biases."""
    from agents.base import mlp

    head = mlp(40, 16, 5, out_std=0.01)
    linears = [m for m in head if isinstance(m, torch.nn.Linear)]
    for layer, gain in zip(linears, (2**0.5, 2**0.5, 0.01)):
        w = layer.weight
        torch.testing.assert_close(w @ w.T, gain**2 * torch.eye(w.shape[0]), atol=1e-5, rtol=1e-4)
        assert (layer.bias == 0).all()


def test_a_config_starts_from_the_ones_in_its_defaults_list():
    """ctm_small.yaml lists only what it changes; as Hydra composes it, so does load_config."""
    from agents.params import load_config
    from tests.agents.helpers import CONFIG_DIR

    small, full = load_config(CONFIG_DIR / "ctm_small.yaml"), load_config(CONFIG_DIR / "ctm.yaml")
    assert "defaults" not in small and set(small) == set(full)
    assert small.d_model == 64 and full.d_model == 128 and small.ticks == full.ticks
